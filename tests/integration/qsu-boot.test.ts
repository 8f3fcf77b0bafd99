// f/qsu for real: a systemd user manager (tests/harness/systemd.ts), QEMU under TCG,
// the C virtiofsd, the test kernel (tests/harness/kernel.ts) and the closure of the test
// library flake built by f/nix/build. QEMU is the host's (a literal manifest describing
// /usr/bin/qemu-system-x86_64); the bring-up test builds it through f/qemu/build.
//
// KDEVFLOW_QSU_TEST_KERNEL=<result.json> uses that kernel manifest instead of building
// the test kernel (for working on this file while the kernel is built elsewhere).

import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClosureResult, KernelManifest, loadManifest } from "../../f/common/manifest.ts";
import { applyBoot, destroyGuest, guestStatus, prepareBoot, stopGuest, waitBoot, type BootResult } from "../../f/qsu/lib/guest.ts";
import { DEFAULT_READY_MARKER } from "../../f/qsu/boot/inputs.ts";
import type { BootInput } from "../../f/qsu/lib/spec.ts";
import { unitStates } from "../../f/qsu/lib/systemctl.ts";
import { testFlakes } from "../harness/flakes.ts";
import { runFlowCli, testKernel } from "../harness/kernel.ts";
import { freePort } from "../harness/net.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { suiteSetup } from "../harness/suite.ts";
import { HOST_QEMU } from "../unit/qsu-fixtures.ts";
import { startUserManager, type UserManager } from "../harness/systemd.ts";

let mgr: UserManager;
let wb: string;
let env: Record<string, string>;
let kernel: KernelManifest;
let closure: ClosureResult;

/** Lines of `ps` for processes of this guest (its sockets and console live under its own folders). */
function guestProcesses(vm: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
  const marks = [join(mgr.runtimeDir, "kdevflow", vm) + "/", join(wb, "system", "vms", vm) + "/"];
  return out.split("\n").filter((l) => marks.some((m) => l.includes(m)) && /qemu-system|virtiofsd/.test(l));
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      out.push(p);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * A boot that waits for the test closure's console marker and powers off after it
 * (kdevflow.oneshot): no SSH forward, so the tests need no free port.
 */
function input(vm: string, over: Partial<BootInput> = {}): BootInput {
  return { vm, kernel, qemu: HOST_QEMU, closure, ssh_port: 0, ready_marker: DEFAULT_READY_MARKER, kernel_params: ["kdevflow.oneshot"], memory_mb: 256, timeout_s: 240, ...over };
}

/**
 * Talk to a console socket: send a carriage return, then for each step wait until the
 * output so far matches, then send the reply. Returns everything the console said.
 */
async function consoleSession(socket: string, steps: [RegExp, string | null][], timeoutMs = 120_000): Promise<string> {
  const conn = createConnection(socket);
  let seen = "";
  let from = 0;
  conn.on("data", (d) => (seen += d.toString()));
  await new Promise<void>((r, j) => conn.once("connect", r).once("error", j));
  try {
    const deadline = Date.now() + timeoutMs;
    let nudged = 0;
    for (const [want, reply] of steps) {
      for (;;) {
        const m = want.exec(seen.slice(from));
        if (m) {
          from += m.index + m[0].length;
          break;
        }
        if (Date.now() > deadline) throw new Error(`console: no ${want} after ${timeoutMs} ms; it said:\n${seen.slice(-2000)}`);
        // getty prints its prompt again on an empty line: nudge it now and then.
        if (from === 0 && Date.now() - nudged > 3000) {
          conn.write("\r");
          nudged = Date.now();
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      if (reply !== null) conn.write(reply);
    }
    return seen;
  } finally {
    conn.destroy();
  }
}

async function boot(vm: string, over: Partial<BootInput> = {}): Promise<BootResult> {
  const prepared = await prepareBoot(input(vm, over), env);
  await applyBoot(prepared, env);
  return waitBoot(prepared, env);
}

async function waitInactive(vm: string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const [q] = await unitStates(env, [`qemu-system@${vm}.service`]);
    if (q && (q.active === "inactive" || q.active === "failed")) return;
    if (Date.now() - started > timeoutMs) throw new Error(`${vm} still ${q?.active} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let library: string;

// Every test awaits ready(): a failed setup fails them all (tests/harness/suite.ts).
const ready = suiteSetup(async () => {
  const nixEnv = await setupNixEnv();
  kernel = process.env.KDEVFLOW_QSU_TEST_KERNEL
    ? await loadManifest("KDEVFLOW_QSU_TEST_KERNEL", KernelManifest, process.env.KDEVFLOW_QSU_TEST_KERNEL)
    : await testKernel();
  mgr = await startUserManager();
  wb = await mkdtemp(join(tmpdir(), "kdevflow-qsu-wb-"));
  env = { ...mgr.env, ...nixEnv, KDEVFLOW_WORKBENCH: wb, SYSTEM_DIR: join(wb, "system"), WORKERS_DIR: join(wb, "workers"), WORKER_INDEX: "0" };
  library = (await testFlakes()).library;
  const res = await runFlowCli("f/nix/build", { vm: "qsu", nixos_flake: library }, env);
  if (res.exitCode !== 0) throw new Error(`f/nix/build failed:\n${res.stderr.split("\n").slice(-30).join("\n")}`);
  closure = ClosureResult.parse(res.result);
});

afterAll(async () => {
  await mgr?.stop();
  if (wb) await rm(wb, { recursive: true, force: true });
});

describe("f/qsu with a real user manager, QEMU and virtiofsd", () => {
  let first: BootResult;

  it("status says absent before the first boot", async () => {
    await ready();
    const s = await guestStatus("qsu-a", env);
    expect(s).toMatchObject({ exists: false, state: "absent", units: [], runs: null });
  });

  it("boots the closure's init from /nix/store over virtiofs, with the kernel's /lib/modules/<release>", async () => {
    await ready();
    first = await boot("qsu-a");
    expect(first.kernelrelease).toBe(kernel.kernelrelease);
    expect(first.units).toEqual(["virtiofsd@qsu-a-store.service", "virtiofsd@qsu-a-modules.service", "qemu-system@qsu-a.service"]);
    // auto: KVM only if the probe guest ran under it (on the test machines it hangs: TCG)
    const probe = JSON.parse(await readFile(join(mgr.runtimeDir, "kdevflow", "kvm-probe.json"), "utf8").catch(() => "{}")) as Record<string, boolean>;
    const kvmWorks = Object.entries(probe).some(([k, v]) => k.startsWith(`${HOST_QEMU.qemu_binary}@`) && v);
    expect(first.accel).toBe(kvmWorks ? "kvm" : "tcg");
    expect(first.qmp_socket).toBe(join(mgr.runtimeDir, "kdevflow", "qsu-a", "qmp.sock"));
    await waitInactive("qsu-a");
    const log = (await readFile(first.console_log, "utf8")).replace(/\r/g, "");
    expect(log).toContain("kdevflow-initrd: mounted /lib/modules from the virtiofs tag 'modules'");
    expect(log).toContain(`kdevflow-initrd: switching to ${closure.init}`);
    expect(log).toContain(`KDEVFLOW-GUEST-UP release=${kernel.kernelrelease}`);
    const listing = /KDEVFLOW-GUEST-MODULES begin \/lib\/modules\/(\S+)\n([\s\S]*?)KDEVFLOW-GUEST-MODULES end/.exec(log);
    expect(listing?.[1]).toBe(kernel.kernelrelease);
    const hostListing = (await readdir(join(kernel.modules_dir!.replace(new RegExp(`/${kernel.kernelrelease}/?$`), ""), kernel.kernelrelease))).sort();
    expect(listing?.[2]!.split(/\s+/).filter(Boolean).sort()).toEqual(hostListing);
    expect(log).toContain("KDEVFLOW-GUEST-DONE");
  }, 300_000);

  it("after the guest powered itself off, status says stopped, what it ran, and nothing is left running", async () => {
    await ready();
    const s = await guestStatus("qsu-a", env);
    expect(s.state).toBe("stopped");
    expect(s.units.map((u) => [u.unit, u.active])).toEqual([
      ["qemu-system@qsu-a.service", "inactive"],
      ["virtiofsd@qsu-a-modules.service", "inactive"],
      ["virtiofsd@qsu-a-store.service", "inactive"],
    ]);
    expect(s.runs?.kernel).toMatchObject({ image: kernel.image, kernelrelease: kernel.kernelrelease });
    expect(s.runs?.qemu.qemu_binary).toBe(HOST_QEMU.qemu_binary);
    expect(s.runs?.closure.toplevel).toBe(closure.toplevel);
    expect(s.booted?.kernelrelease_seen).toBe(kernel.kernelrelease);
    expect(s.runs_current).toBe(true);
    expect(guestProcesses("qsu-a")).toEqual([]);
    // the same through the flow engine (Bun step process)
    const viaFlow = await runFlowCli("f/qsu/status", { vm: "qsu-a" }, env);
    expect(viaFlow.exitCode, viaFlow.stderr.slice(-2000)).toBe(0);
    expect(viaFlow.result).toMatchObject({ vm: "qsu-a", state: "stopped", runs_current: true });
  });

  // A guest that stays up, as the library's guests do: no kdevflow.oneshot, so the
  // closure's stage 2 hands PID 1 to busybox init (a getty on hvc0, sshd). It has no ACPI
  // power-button handling, so a stop ends in a kill.
  const stayUp = () => ({ kernel_params: [] });

  it("a guest that stays up is running, with an uptime; booting its name again restarts it and never duplicates it", async () => {
    await ready();
    await boot("qsu-b", stayUp());
    const s1 = await guestStatus("qsu-b", env);
    expect(s1.state).toBe("running");
    expect(s1.uptime_s).not.toBeNull();
    const pid1 = s1.units[0]!.mainPid;
    expect(pid1).toBeGreaterThan(0);
    expect(guestProcesses("qsu-b").filter((l) => l.includes("qemu-system"))).toHaveLength(1);

    await boot("qsu-b", stayUp());
    const s2 = await guestStatus("qsu-b", env);
    expect(s2.state).toBe("running");
    expect(s2.units[0]!.mainPid).not.toBe(pid1);
    const procs = guestProcesses("qsu-b");
    expect(procs.filter((l) => l.includes("qemu-system"))).toHaveLength(1);
    // one daemon per share (the C virtiofsd runs as a parent and its sandboxed child)
    const sockets = new Set(procs.filter((l) => l.includes("virtiofsd")).map((l) => /--socket-path=(\S+)/.exec(l)?.[1]));
    expect([...sockets].sort()).toEqual([join(mgr.runtimeDir, "kdevflow", "qsu-b", "fs-modules.sock"), join(mgr.runtimeDir, "kdevflow", "qsu-b", "fs-store.sock")]);
    const dropins = (await readdir(mgr.configDir)).filter((e) => e.includes("qsu-b"));
    expect(dropins.sort()).toEqual(["qemu-system@qsu-b.service.d", "virtiofsd@qsu-b-modules.service.d", "virtiofsd@qsu-b-store.service.d"]);
  }, 300_000);

  it("a guest that waits for SSH is up only once root logs in with the managed key; uname -r over SSH is the manifest's release", async () => {
    await ready();
    const port = await freePort();
    const res = await boot("qsu-s", { ssh_port: port, ready_marker: "", kernel_params: [] });
    expect(res.ready.how).toBe("ssh");
    expect(res.ready.line).toMatch(/^SSH-2\.0-OpenSSH_/);
    expect(res.ready.captured).toBe(kernel.kernelrelease);
    expect(res.kernelrelease).toBe(kernel.kernelrelease);
    const key = join(wb, "system", "ssh", "id_ed25519");
    expect(res.login).toEqual({
      user: "root",
      host: "127.0.0.1",
      port,
      key,
      ssh_config: join(wb, "system", "vms", "qsu-s", "ssh_config"),
      command: `ssh -p ${port} -i ${key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1`,
    });
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    // What the result says works: the command line, and the ssh_config entry (as root and as the library's user).
    const viaCommand = execFileSync(res.login!.command.split(" ")[0]!, [...res.login!.command.split(" ").slice(1), "-o", "BatchMode=yes", "uname", "-r"], { encoding: "utf8" });
    expect(viaCommand.trim()).toBe(kernel.kernelrelease);
    const ssh = (...args: string[]) => execFileSync("ssh", ["-F", res.login!.ssh_config, "-o", "BatchMode=yes", ...args], { encoding: "utf8" }).trim();
    expect(ssh("qsu-s", "id", "-un")).toBe("root");
    expect(ssh("-l", "user", "qsu-s", "id", "-un")).toBe("user");
    // Keys only: a password is refused even for root, whose console password is "root".
    const pw = spawnSync("ssh", ["-F", res.login!.ssh_config, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null", "-o", "PreferredAuthentications=password", "qsu-s", "true"], { encoding: "utf8" });
    expect(pw.status).not.toBe(0);
    expect(pw.stderr).toMatch(/Permission denied/);
  }, 300_000);

  it("the virtio console hvc0 is reachable while the guest runs: a login prompt on its socket, root logs in with the console password", async () => {
    await ready();
    const s = await guestStatus("qsu-s", env);
    expect(s.state).toBe("running");
    const socket = join(mgr.runtimeDir, "kdevflow", "qsu-s", "console.sock");
    const transcript = await consoleSession(socket, [
      [/login: $/, "root\r"],
      [/Password: $/, "root\r"],
      [/# /, "echo CONSOLE-$((6*7)) $(hostname) $(tty)\r"],
      // The closure was built for the VM "qsu": that is its host name.
      [/CONSOLE-42 qsu \/dev\/hvc0/, null],
    ]);
    expect(transcript).toMatch(/qsu login: /);
    // QEMU logged what it said while attached.
    expect(await readFile(join(wb, "system", "vms", "qsu-s", "hvc0.log"), "utf8")).toContain("CONSOLE-42");
    await stopGuest("qsu-s", 2, env);
  }, 300_000);

  it("stop powers the guest down within the bounded time and leaves no QEMU or virtiofsd process", async () => {
    await ready();
    const started = Date.now();
    const res = await stopGuest("qsu-b", 3, env);
    const seconds = (Date.now() - started) / 1000;
    expect(res.was_running).toBe(true);
    expect(["powered off", "killed"]).toContain(res.how);
    expect(seconds).toBeLessThan(3 + 15 + 5);
    expect(res.units.every((u) => u.active !== "active" && u.mainPid === 0)).toBe(true);
    expect(guestProcesses("qsu-b")).toEqual([]);
    expect((await guestStatus("qsu-b", env)).state).toBe("stopped");
    // stopping a stopped guest is safe
    expect((await stopGuest("qsu-b", 3, env)).how).toBe("not running");
  }, 300_000);

  it("status says failed when QEMU dies", async () => {
    await ready();
    await boot("qsu-b", stayUp());
    const [q] = await unitStates(env, ["qemu-system@qsu-b.service"]);
    process.kill(q!.mainPid, "SIGKILL");
    await waitInactive("qsu-b");
    expect((await guestStatus("qsu-b", env)).state).toBe("failed");
    await stopGuest("qsu-b", 1, env);
    expect(guestProcesses("qsu-b")).toEqual([]);
  }, 300_000);

  it("boot fails early with the console's last lines when QEMU ends before the marker", async () => {
    await ready();
    const err = await boot("qsu-c", { ready_marker: "THIS-NEVER-APPEARS" }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/the guest stopped before it was up; last console lines:[\s\S]*KDEVFLOW-GUEST-DONE/);
  }, 300_000);

  it("a user share reaches the guest over its own virtiofsd, and an extra disk is created once", async () => {
    await ready();
    const data = join(wb, "host data");
    await mkdir(data, { recursive: true });
    const built = await runFlowCli("f/nix/build", { vm: "qsu-d", nixos_flake: library, shares: [{ source: data, target: "/mnt/host", tag: "hostdata" }] }, env);
    expect(built.exitCode, built.stderr.slice(-2000)).toBe(0);
    const withShare = ClosureResult.parse(built.result);
    const res = await boot("qsu-d", { closure: withShare, shares: [{ tag: "hostdata", path: data, readonly: true }], extra_disks_mb: [8] });
    expect(res.units).toContain("virtiofsd@qsu-d-hostdata.service");
    await waitInactive("qsu-d");
    const log = (await readFile(res.console_log, "utf8")).replace(/\r/g, "");
    expect(log).toContain("KDEVFLOW-GUEST-SHARE tag=hostdata target=/mnt/host options=defaults");
    const disk = join(wb, "system", "vms", "qsu-d", "disks", "disk0.qcow2");
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", disk], { encoding: "utf8" }));
    expect(info).toMatchObject({ format: "qcow2", "virtual-size": 8 * 1024 * 1024 });
  }, 300_000);

  it("a 9p share needs no daemon: QEMU takes the -virtfs device and the guest boots", async () => {
    await ready();
    const dir = join(wb, "ninep,dir");
    await mkdir(dir, { recursive: true });
    const res = await boot("qsu-e", { shares: [{ tag: "ninep", path: dir, transport: "9p", readonly: true }] });
    expect(res.units).toEqual(["virtiofsd@qsu-e-store.service", "virtiofsd@qsu-e-modules.service", "qemu-system@qsu-e.service"]);
    const s = await guestStatus("qsu-e", env);
    expect(s.runs?.qemu_argv).toContain(`local,path=${join(wb, "ninep,,dir")},mount_tag=ninep,security_model=none,id=p92,readonly=on`);
    await waitInactive("qsu-e");
  }, 300_000);

  it("destroy removes every unit and file boot made", async () => {
    await ready();
    const before = new Set([...(await listTree(mgr.configDir)), ...(await listTree(join(wb, "system"))), ...(await listTree(join(mgr.runtimeDir, "kdevflow")))]);
    expect([...before].some((p) => p.includes("qsu-a"))).toBe(true);
    const viaFlow = await runFlowCli("f/qsu/destroy", { vm: "qsu-d", timeout_s: 2 }, env);
    expect(viaFlow.exitCode, viaFlow.stderr.slice(-2000)).toBe(0);
    expect((viaFlow.result as { removed: string[] }).removed).toContain(join(wb, "system", "vms", "qsu-d"));
    for (const vm of ["qsu-a", "qsu-b", "qsu-c", "qsu-e", "qsu-s"]) {
      const res = await destroyGuest(vm, env, 2);
      expect(res.removed.length).toBeGreaterThan(0);
      expect(guestProcesses(vm)).toEqual([]);
      expect((await guestStatus(vm, env)).state).toBe("absent");
    }
    const after = [...(await listTree(mgr.configDir)), ...(await listTree(join(wb, "system"))), ...(await listTree(join(mgr.runtimeDir, "kdevflow")))];
    expect(after.filter((p) => /qsu-[abcdes]/.test(p))).toEqual([]);
    // the templates go with the last guest
    expect(after.filter((p) => p.startsWith(mgr.configDir))).toEqual([]);
    await expect(stat(join(wb, "system", "vms", "qsu-a"))).rejects.toThrow();
    // destroying what is gone is safe and removes nothing
    expect((await destroyGuest("qsu-a", env, 1)).removed).toEqual([]);
  }, 300_000);
});

describe("bad input: one sentence naming the field, and no unit written", () => {
  let busy: Server;
  let busyPort = 0;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  const cases: [string, () => Partial<BootInput>, RegExp][] = [
    ["a VM name with /", () => ({ vm: "a/b" }), /^vm: expected a name/],
    ["a VM name with ..", () => ({ vm: "a..b" }), /^vm: expected a name/],
    ["a VM name with a space", () => ({ vm: "a b" }), /^vm: expected a name/],
    ["a VM name over 64 characters", () => ({ vm: "x".repeat(65) }), /^vm: expected a name of at most 64/],
    ["zero memory", () => ({ memory_mb: 0 }), /^memory_mb: expected a whole number of MiB greater than 0, got 0\.$/],
    ["a share whose path does not exist", () => ({ shares: [{ tag: "src", path: join(wb, "no-such-dir") }] }), /^shares\[0\]\.path: expected an existing folder to share/],
    ["a host port already in use", () => ({ ssh_port: busyPort }), /^ssh_port: expected a free host port \(tcp 127\.0\.0\.1:\d+ is already in use\)/],
    ["a missing manifest", () => ({ kernel: undefined }), /^kernel: expected a manifest object from a build flow, got nothing\.$/],
    ["a manifest given as a path, not the object", () => ({ closure: join(wb, "none", "result.json") }), /^closure: expected a manifest object from a build flow, got ".*result\.json"\.$/],
    ["an invalid manifest", () => ({ qemu: { ...HOST_QEMU, qemu_binary: "qemu" } }), /^qemu\.qemu_binary: expected an absolute path, got "qemu"\.$/],
  ];

  it.each(cases)("%s", async (_name, over, message) => {
    await ready();
    const before = [...(await listTree(mgr.configDir)), ...(await listTree(join(wb, "system", "vms")))];
    const err = await prepareBoot({ ...input("qsu-bad"), ...over() } as BootInput, env).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe("InputError");
    expect(err?.message).toMatch(message);
    expect(err?.message.trim().split("\n")).toHaveLength(1);
    const after = [...(await listTree(mgr.configDir)), ...(await listTree(join(wb, "system", "vms")))];
    expect(after).toEqual(before);
  });

  it("through the flow engine: exit status 2, the sentence, nothing written", async () => {
    await ready();
    const before = await listTree(mgr.configDir);
    const res = await runFlowCli("f/qsu/boot", { vm: "qsu-bad", kernel, qemu: HOST_QEMU, closure, memory_mb: 0 }, env);
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toMatch(/memory_mb: expected a number of at least 1, got 0\./);
    expect(await listTree(mgr.configDir)).toEqual(before);
  });
});
