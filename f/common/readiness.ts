// Is this worker (or this machine) ready to run kdevflow's flows? One probe per thing the
// flows call or need (docs/deploy.md): Nix, its configuration and a writable store, the
// nixos-flake library, git, b4, the Workbench folders, the user service manager the
// f/qsu flows drive, virtiofsd, QEMU, and KVM or the TCG fallback. Each probe returns one
// Check and never throws; readiness() and checkLine() are pure. The step that runs them
// is f/common/doctor.ts.

import { access, constants, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type Env, workbenchLayout } from "./layout.ts";
import { nixArgv, nixOptionsFromEnv, resolveFlake } from "./nix.ts";
import { run } from "./run.ts";
import { runProbe } from "../qsu/lib/kvm.ts";
import { detectVirtiofsd, virtiofsdCandidates } from "../qsu/lib/virtiofsd.ts";

export interface Check {
  name: string;
  ok: boolean;
  /** A required check that fails makes the worker not ready; an optional one is only reported. */
  required: boolean;
  /** What was found, or what is missing and why it matters. */
  detail: string;
}

export interface Readiness {
  ready: boolean;
  /** The names of the required checks that failed. */
  missing: string[];
  checks: Check[];
}

/** Ready when every required check passed. Pure. */
export function readiness(checks: Check[]): Readiness {
  const missing = checks.filter((c) => c.required && !c.ok).map((c) => c.name);
  return { ready: missing.length === 0, missing, checks };
}

/** One line per check: `ok`, `MISSING` (required) or `absent` (optional), the name, the detail. Pure. */
export function checkLine(c: Check): string {
  const mark = c.ok ? "ok" : c.required ? "MISSING" : "absent";
  return `${mark.padEnd(8)}${c.name}: ${c.detail}`;
}

/** The closing line. Pure. */
export function verdictLine(r: Readiness): string {
  return r.ready ? "ready: yes" : `ready: no (missing: ${r.missing.join(", ")})`;
}

const set = (env: Env, name: string) => (env[name] ?? "") !== "";
const firstLine = (s: string) => s.trim().split("\n")[0] ?? "";
const reason = (err: unknown) => firstLine(err instanceof Error ? err.message : String(err));

/** Run a command for a probe: its exit status (-1 when it could not start or timed out) and first line of output. */
async function probe(argv: string[], env: Env, timeoutMs = 30_000): Promise<{ exitCode: number; line: string }> {
  try {
    const res = await run(argv, { env, capture: true, quiet: true, allowFailure: true, timeoutMs });
    return { exitCode: res.exitCode, line: firstLine(res.stdout) || firstLine(res.stderr) };
  } catch (err) {
    return { exitCode: -1, line: reason(err) };
  }
}

/** A program found on the job's PATH, or null. */
export async function onPath(name: string, env: Env): Promise<string | null> {
  for (const dir of (env.PATH ?? "").split(":").filter(Boolean)) {
    try {
      await access(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      /* not here */
    }
  }
  return null;
}

/** A program that answers `--version`. */
export async function checkTool(name: string, argv: string[], env: Env, required: boolean, purpose: string): Promise<Check> {
  if (!(await onPath(argv[0]!, env))) return { name, ok: false, required, detail: `not found on PATH (${purpose})` };
  const res = await probe(argv, env);
  if (res.exitCode === 0) return { name, ok: true, required, detail: res.line };
  return { name, ok: false, required, detail: `${argv.join(" ")} exited with status ${res.exitCode}: ${res.line} (${purpose})` };
}

/** Nix evaluates with kdevflow's options (KDEVFLOW_NIX_OPTIONS) and the flake features. */
export async function checkNixConfig(env: Env): Promise<Check> {
  const name = "nix configuration";
  let argv: string[];
  try {
    argv = nixArgv(["eval", "--raw", "--expr", "builtins.nixVersion"], nixOptionsFromEnv(env));
  } catch (err) {
    return { name, ok: false, required: true, detail: reason(err) };
  }
  const res = await probe(argv, env, 60_000);
  if (res.exitCode === 0) return { name, ok: true, required: true, detail: `evaluates (Nix ${res.line}) with flakes and the options of KDEVFLOW_NIX_OPTIONS` };
  return { name, ok: false, required: true, detail: `nix eval failed (${res.line}): see Nix configuration in docs/deploy.md` };
}

/** The store takes a path the way publish adds a build (nix store add-path): the same tiny path every time. */
export async function checkNixStore(env: Env): Promise<Check> {
  const name = "nix store";
  const dir = await mkdtemp(join(tmpdir(), "kdevflow-doctor-"));
  try {
    await writeFile(join(dir, "ready"), "kdevflow doctor\n");
    const argv = nixArgv(["store", "add-path", "--name", "kdevflow-doctor", dir], nixOptionsFromEnv(env));
    const res = await probe(argv, env, 60_000);
    if (res.exitCode === 0) return { name, ok: true, required: true, detail: `writable (${res.line})` };
    return { name, ok: false, required: true, detail: `nix store add-path failed (${res.line}): builds cannot be published` };
  } catch (err) {
    return { name, ok: false, required: true, detail: reason(err) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The nixos-flake library the flows build guests and shells from: a local one must hold flake.nix. */
export async function checkLibrary(env: Env): Promise<Check> {
  const name = "nixos-flake library";
  let ref: string;
  try {
    ref = resolveFlake(null, env);
  } catch (err) {
    return { name, ok: false, required: true, detail: reason(err) };
  }
  const local = /^path:(\/.*)$/.exec(ref)?.[1];
  if (!local) return { name, ok: true, required: true, detail: `${ref} (not local: Nix fetches it when a flow first needs it)` };
  try {
    await access(join(local, "flake.nix"), constants.R_OK);
    return { name, ok: true, required: true, detail: ref };
  } catch {
    return { name, ok: false, required: true, detail: `${local}/flake.nix is not there: set KDEVFLOW_NIXOS_FLAKE or give each flow nixos_flake` };
  }
}

/** The nearest folder of `path` (itself or an ancestor) that exists. */
async function nearestExisting(path: string): Promise<{ path: string; isDir: boolean }> {
  for (let p = path; ; p = dirname(p)) {
    try {
      return { path: p, isDir: (await stat(p)).isDirectory() };
    } catch {
      if (p === dirname(p)) return { path: p, isDir: false };
    }
  }
}

/** A Workbench folder exists and takes a file, or can be created (its nearest existing folder takes one). */
export async function checkWritable(name: string, path: string): Promise<Check> {
  const near = await nearestExisting(path);
  if (!near.isDir) return { name, ok: false, required: true, detail: `${path}: ${near.path} is not a folder` };
  try {
    const probeDir = await mkdtemp(join(near.path, ".kdevflow-doctor-"));
    await rm(probeDir, { recursive: true, force: true });
  } catch (err) {
    return { name, ok: false, required: true, detail: `${path}: ${near.path} does not take a file (${reason(err)})` };
  }
  return { name, ok: true, required: true, detail: near.path === path ? `${path} (writable)` : `${path} (not there yet; ${near.path} is writable)` };
}

/** SYSTEM_DIR and this worker's slot, from the job's environment. */
export async function checkWorkbench(env: Env): Promise<Check[]> {
  let layout;
  try {
    layout = workbenchLayout(env);
  } catch (err) {
    return [{ name: "Workbench", ok: false, required: true, detail: reason(err) }];
  }
  return [await checkWritable("SYSTEM_DIR", layout.systemDir), await checkWritable("worker slot", layout.slotDir)];
}

/** The user service manager the f/qsu flows start guests in answers `systemctl --user`. */
export async function checkUserManager(env: Env): Promise<Check> {
  const name = "systemd --user";
  if (!set(env, "XDG_RUNTIME_DIR")) {
    return { name, ok: false, required: true, detail: "XDG_RUNTIME_DIR is not set in the job's environment (add it to WHITELIST_ENVS and give the worker a user manager)" };
  }
  const res = await probe(["systemctl", "--user", "show", "--property=Version"], env);
  if (res.exitCode === 0 && /^Version=/.test(res.line)) {
    const bus = set(env, "DBUS_SESSION_BUS_ADDRESS") ? "" : "; DBUS_SESSION_BUS_ADDRESS not set, using $XDG_RUNTIME_DIR/systemd/private";
    return { name, ok: true, required: true, detail: `systemd ${res.line.slice("Version=".length)} at ${env.XDG_RUNTIME_DIR}${bus}` };
  }
  return { name, ok: false, required: true, detail: `systemctl --user does not answer (${res.line || `exit ${res.exitCode}`}): no user manager at ${env.XDG_RUNTIME_DIR}` };
}

/** A virtiofsd the boot flow can start for shares. */
export async function checkVirtiofsd(env: Env, qemuBinary: string | null): Promise<Check> {
  const found = await detectVirtiofsd(virtiofsdCandidates(qemuBinary ?? "/usr/bin/qemu-system-x86_64", env));
  if (found) return { name: "virtiofsd", ok: true, required: true, detail: `${found.binary} (${found.flavor === "rust" ? "Rust" : "C"})` };
  return { name: "virtiofsd", ok: false, required: true, detail: "none found (KDEVFLOW_VIRTIOFSD, PATH, /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd): guests get no shares" };
}

/** The host's QEMU for this architecture: optional, since f/qemu/build builds the one guests run. */
export async function checkQemu(env: Env, binary: string | null): Promise<Check> {
  const name = "qemu-system";
  if (!binary) return { name, ok: false, required: false, detail: "no qemu-system on PATH (f/qemu/build builds the QEMU guests run; the KVM probe needs one)" };
  const res = await probe([binary, "--version"], env);
  return res.exitCode === 0 ? { name, ok: true, required: false, detail: `${binary}: ${res.line}` } : { name, ok: false, required: false, detail: `${binary} --version failed: ${res.line}` };
}

/** KVM when a 64-bit guest really runs under it (f/qsu/lib/kvm.ts), else TCG when one runs under TCG. */
export async function checkAccelerator(qemuBinary: string | null): Promise<Check> {
  const name = "accelerator";
  if (!qemuBinary) return { name, ok: false, required: false, detail: "not probed: no QEMU to probe with" };
  let why: string;
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
    why = (await runProbe(qemuBinary, "kvm")) ? "" : "a 64-bit guest did not run under KVM";
  } catch {
    why = "/dev/kvm is missing or not read-writable";
  }
  if (!why) return { name, ok: true, required: false, detail: "KVM usable" };
  const tcg = await runProbe(qemuBinary, "tcg");
  return tcg
    ? { name, ok: true, required: false, detail: `TCG fallback (${why}; a 64-bit guest ran under TCG, slower)` }
    : { name, ok: false, required: false, detail: `neither KVM (${why}) nor TCG ran a 64-bit guest with ${qemuBinary}` };
}

/** Every check, in the order docs/deploy.md sets a worker up. */
export async function checkAll(env: Env, qemuBinary?: string | null): Promise<Check[]> {
  const qemu = qemuBinary || (await onPath(`qemu-system-${process.arch === "arm64" ? "aarch64" : "x86_64"}`, env));
  return [
    await checkTool("nix", ["nix", "--version"], env, true, "every build runs in nix develop"),
    await checkNixConfig(env),
    await checkNixStore(env),
    await checkLibrary(env),
    await checkTool("git", ["git", "--version"], env, true, "mirrors, Bares and worktrees"),
    await checkTool("b4", ["b4", "--version"], env, false, "needed only to apply a b4 series to a kernel"),
    ...(await checkWorkbench(env)),
    await checkUserManager(env),
    await checkVirtiofsd(env, qemu),
    await checkQemu(env, qemu),
    await checkAccelerator(qemu),
  ];
}
