// A real systemd user manager for integration tests.
//
// PID 1 on the test machines is not systemd, so `systemctl --user` has nothing to talk
// to. This starts `/lib/systemd/systemd --user` inside a private mount namespace where
// /run/systemd is a bind mount of a folder holding an empty `system/` (which is how
// sd_booted() decides systemd is running), with its own 0700 XDG_RUNTIME_DIR, HOME and
// XDG_CONFIG_HOME under a temporary folder, so a test never touches the real user's
// units. The manager is also moved into its own cgroup (a child of the named systemd
// hierarchy and of the unified one), so its units' cgroups live under it and two
// managers never share `app.slice`.
//
// `systemctl --user` works from OUTSIDE the namespace: it talks to
// $XDG_RUNTIME_DIR/systemd/private, a socket path that is the same in both namespaces.
// Only `systemctl --user is-system-running` differs (it checks /run/systemd/system in
// the caller's namespace and says "offline"), so readiness is read from SystemState.
// The code under test therefore just runs `systemctl --user ...` with `env`.

import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capture, run } from "../../f/common/run.ts";

export interface UserManager {
  /** Environment for `systemctl --user` and for the qsu steps. */
  env: Record<string, string>;
  /** The folder holding everything of this manager (removed by stop). */
  root: string;
  runtimeDir: string;
  home: string;
  /** Where user units go: $XDG_CONFIG_HOME/systemd/user. */
  configDir: string;
  pid: number;
  /** The cgroup folders the manager runs in (one per hierarchy). */
  cgroups: string[];
  /** The manager's log (its stdout and stderr). */
  logFile: string;
  /** `systemctl --user exit`, wait, kill what is left, remove the temp folder. */
  stop(): Promise<void>;
}

// Fixed script; the folder to bind and the cgroup folders arrive as positional arguments.
const LAUNCH = [
  'fake="$1"; shift',
  'for cg in "$@"; do mkdir -p "$cg" && echo $$ > "$cg/cgroup.procs" || exit 1; done',
  'mount --bind "$fake" /run/systemd || exit 1',
  "exec /lib/systemd/systemd --user",
].join("\n");

/** The cgroup mounts the manager must be moved under: the named systemd v1 hierarchy and/or cgroup2. */
export function cgroupRoots(mounts: string): string[] {
  const roots: string[] = [];
  for (const line of mounts.split("\n")) {
    const [, dir, type, opts] = line.split(" ");
    if (!dir) continue;
    if (type === "cgroup2") roots.push(dir);
    else if (type === "cgroup" && opts?.split(",").includes("name=systemd")) roots.push(dir);
  }
  return roots;
}

function minimalEnv(root: string): Record<string, string> {
  return {
    PATH: process.env.PATH || "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LANG: "C.UTF-8",
    HOME: join(root, "home"),
    XDG_RUNTIME_DIR: join(root, "run"),
    XDG_CONFIG_HOME: join(root, "config"),
    XDG_DATA_HOME: join(root, "data"),
  };
}

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function removeCgroupTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await removeCgroupTree(join(dir, e.name));
  }
  await rmdir(dir).catch(() => undefined);
}

/** All pids in a cgroup folder and below it. */
export function pidsUnder(cgroup: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    let procs = "";
    try {
      procs = readFileSync(join(dir, "cgroup.procs"), "utf8");
    } catch {
      return;
    }
    for (const l of procs.split("\n")) if (l.trim()) pids.add(Number(l));
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(cgroup);
  return [...pids];
}

export async function startUserManager(): Promise<UserManager> {
  const root = await mkdtemp(join(tmpdir(), "kdevflow-usermgr-"));
  const env = minimalEnv(root);
  const fake = join(root, "fake-run-systemd");
  await mkdir(join(fake, "system"), { recursive: true });
  for (const d of [env.HOME!, env.XDG_CONFIG_HOME!, env.XDG_DATA_HOME!]) await mkdir(d, { recursive: true });
  await mkdir(env.XDG_RUNTIME_DIR!, { recursive: true });
  await chmod(env.XDG_RUNTIME_DIR!, 0o700);
  const configDir = join(env.XDG_CONFIG_HOME!, "systemd", "user");
  await mkdir(configDir, { recursive: true });

  const name = `kdevflow-test-${root.split("-").pop()}`;
  const cgroups = cgroupRoots(readFileSync("/proc/self/mounts", "utf8")).map((r) => join(r, name));
  const logFile = join(root, "manager.log");
  const fd = openSync(logFile, "a");
  const argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", LAUNCH, "sh", fake, ...cgroups];
  console.log(`+ ${argv.join(" ")}`);
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", fd, fd], detached: true });
  closeSync(fd);
  const pid = child.pid!;
  child.unref();

  const systemctl = (args: string[]) => capture(["systemctl", "--user", ...args], { env, replaceEnv: true, allowFailure: true, timeoutMs: 5000 });
  try {
    await waitFor("the user manager to answer", 20_000, async () => {
      if (!alive(pid)) throw new Error(`the user manager exited early:\n${readFileSync(logFile, "utf8")}`);
      if (!existsSync(join(env.XDG_RUNTIME_DIR!, "systemd", "private"))) return false;
      const state = await systemctl(["show", "--property=SystemState", "--value"]);
      return state === "running" || state === "degraded";
    });
  } catch (err) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
    throw err;
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await run(["systemctl", "--user", "exit"], { env, replaceEnv: true, allowFailure: true, timeoutMs: 10_000 });
    await waitFor("the user manager to exit", 15_000, async () => !alive(pid)).catch(() => undefined);
    // Whatever is left (the manager, or a unit it could not stop) is killed.
    for (let round = 0; round < 20; round++) {
      const left = [pid, ...cgroups.flatMap(pidsUnder)].filter(alive);
      if (left.length === 0) break;
      for (const p of left) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const cg of cgroups) await removeCgroupTree(cg);
    await rm(root, { recursive: true, force: true });
  };

  return { env, root, runtimeDir: env.XDG_RUNTIME_DIR!, home: env.HOME!, configDir, pid, cgroups, logFile, stop };
}
