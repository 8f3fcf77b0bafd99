// The effectful half of f/qsu: validate against the machine, write what the plan says,
// start, wait, stop, report, destroy. Deciding is done in spec.ts, plan.ts, units.ts and
// qemu_argv.ts; this file runs commands and touches files.

import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { writeFileAtomic } from "../../common/atomic.ts";
import { InputError } from "../../common/errors.ts";
import { parseInputs } from "../../common/inputs.ts";
import { Inputs } from "../boot/inputs.ts";
import { checkName, systemPaths, workbenchLayout, type Env } from "../../common/layout.ts";
import { withLock } from "../../common/lock.ts";
import { run } from "../../common/run.ts";
import { setProgress } from "../../common/progress.ts";
import { kvmUsable } from "./kvm.ts";
import { qemuUnit, runtimeDir, unitDir, vmPaths, type VmPaths } from "./names.ts";
import { chooseAccel, planBoot, type BootPlan } from "./plan.ts";
import { qmpCommand } from "./qmp.ts";
import { waitReady, type ReadyResult } from "./ready.ts";
import { validateBootInput, type BootInput, type Probes, type VmSpec } from "./spec.ts";
import { readState, runsCurrent, writeState, type RunsWhat, type VmState } from "./state.ts";
import { isUp, systemctl, unitStates, type UnitState } from "./systemctl.ts";
import { detectVirtiofsd, virtiofsdCandidates } from "./virtiofsd.ts";
import { readManagedKey } from "../../workbench/ssh_key.ts";
import { loginHelp, sshArgv } from "./login.ts";

export const machineProbes: Probes = {
  async isDirectory(path) {
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  },
  async isFile(path) {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  },
  portFree(address, port, proto) {
    return new Promise((resolve) => {
      if (proto === "udp") {
        const s = createSocket("udp4");
        s.once("error", () => resolve(false));
        s.bind(port, address, () => s.close(() => resolve(true)));
        return;
      }
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen({ port, host: address, exclusive: true }, () => srv.close(() => resolve(true)));
    });
  },
};

function lockPath(env: Env, vm: string): string {
  return join(systemPaths.locks(workbenchLayout(env)), `vm-${vm}.lock`);
}

/** The virtiofsd units a VM has drop-ins for (its tags never hold '-'). */
export async function existingShareUnits(env: Env, vm: string): Promise<string[]> {
  const prefix = `virtiofsd@${vm}-`;
  let entries: string[] = [];
  try {
    entries = await readdir(unitDir(env));
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.startsWith(prefix) && e.endsWith(".service.d"))
    .map((e) => e.slice(0, -2))
    .filter((u) => /^[A-Za-z0-9_]+$/.test(u.slice(prefix.length, -".service".length)))
    .sort();
}

export function hostPortsOf(argv: readonly string[]): number[] {
  const ports: number[] = [];
  for (const a of argv) for (const m of a.matchAll(/hostfwd=(?:tcp|udp):[^:]*:(\d+)-/g)) ports.push(Number(m[1]));
  return ports;
}

function runsWhat(spec: VmSpec, plan: BootPlan): RunsWhat {
  return {
    kernel: { image: spec.kernel.image, kernelrelease: spec.kernel.kernelrelease, identity: spec.kernel.identity, store_key: spec.kernel.store_key },
    qemu: { qemu_binary: spec.qemu.qemu_binary, version: spec.qemu.version, identity: spec.qemu.identity, store_key: spec.qemu.store_key, method: spec.qemu.method },
    closure: { toplevel: spec.closure.toplevel, init: spec.closure.init, initrd: spec.closure.initrd },
    accel: plan.accel,
    qemu_argv: plan.qemuArgv,
    units: plan.units,
  };
}

export interface PreparedBoot {
  plan: BootPlan;
  runs: RunsWhat;
  kernelrelease: string;
}

/** Validate and plan; nothing on disk changes (the KVM probe cache under XDG_RUNTIME_DIR aside). */
export async function prepareBoot(raw: BootInput, env: Env = process.env): Promise<PreparedBoot> {
  const input = parseInputs(Inputs, raw);
  const vm = input.vm;
  const layout = workbenchLayout(env);
  const paths = vmPaths(layout, env, vm);
  const state = await readState(paths.stateFile);
  let ownPorts = new Set<number>();
  if (state?.current) {
    const [q] = await unitStates(env, [qemuUnit(vm)]);
    if (q && isUp(q)) ownPorts = new Set(hostPortsOf(state.current.qemu_argv));
  }
  const spec = await validateBootInput(input, machineProbes, ownPorts);
  const needsVirtiofsd = spec.shares.some((s) => s.transport === "virtiofs");
  const virtiofsd = needsVirtiofsd ? await detectVirtiofsd(virtiofsdCandidates(spec.qemu.qemu_binary, env)) : null;
  const kvm = spec.accel === "auto" ? await kvmUsable(spec.qemu.qemu_binary, join(runtimeDir(env), "kdevflow")) : null;
  const managed = await readManagedKey(layout);
  const plan = planBoot(spec, paths, chooseAccel(spec.accel, kvm), virtiofsd, managed?.private_key ?? null);
  for (const f of plan.files) console.log(`--- ${f.path}\n${f.content}`);
  return { plan, runs: runsWhat(spec, plan), kernelrelease: spec.kernel.kernelrelease };
}

async function removeDropin(env: Env, unit: string): Promise<void> {
  await rm(join(unitDir(env), `${unit}.d`), { recursive: true, force: true });
}

/** Write units and state, (re)start the guest. Booting a name that exists restarts it. */
export async function applyBoot(prepared: PreparedBoot, env: Env = process.env): Promise<void> {
  const { plan } = prepared;
  const p = plan.paths;
  await withLock(lockPath(env, plan.vm), { what: `the guest ${plan.vm}` }, async () => {
    const before = await existingShareUnits(env, plan.vm);
    const known = [...new Set([...before, ...plan.shareUnits.map((u) => u.unit)])];
    const states = await unitStates(env, [plan.qemuUnit, ...known]);
    const running = states.filter(isUp).map((s) => s.unit);
    if (running.length) {
      console.log(`${plan.vm} exists and is up: stopping it to boot it again`);
      await systemctl(env, ["stop", ...running]);
    }
    await setProgress(20, "writing units");
    for (const gone of before.filter((u) => !plan.shareUnits.some((s) => s.unit === u))) await removeDropin(env, gone);
    await mkdir(p.stateDir, { recursive: true });
    await mkdir(p.runDir, { recursive: true, mode: 0o700 });
    // A restart starts a fresh console log, so the marker of the last boot is not seen as this one's.
    await rename(p.consoleLog, `${p.consoleLog}.prev`).catch(() => undefined);
    for (const d of plan.disks) {
      const exists = await stat(d.path).then(() => true, () => false);
      if (!exists) {
        await mkdir(p.disksDir, { recursive: true });
        await run(d.argv);
      }
    }
    // Only what changed is written, and the manager reloads only then (a reboot of the
    // same plan skips daemon-reload, which costs a few hundred ms on a busy machine).
    let changed = before.some((u) => !plan.shareUnits.some((s) => s.unit === u));
    for (const f of plan.files) {
      const old = await readFile(f.path, "utf8").catch(() => null);
      if (old === f.content) continue;
      await writeFileAtomic(f.path, f.content);
      changed = true;
    }
    const old = await readState(p.stateFile);
    await writeState(p.stateFile, { vm: plan.vm, current: { ...prepared.runs, configured_at: new Date().toISOString() }, booted: old?.booted ?? null });
    if (plan.sshConfig) await writeFileAtomic(plan.sshConfig.path, plan.sshConfig.content);
    else await rm(p.sshConfig, { force: true });
    // A write whose reload never happened (a killed run) shows as NeedDaemonReload.
    if (!changed) changed = (await unitStates(env, plan.units)).some((u) => u.needReload || u.load !== "loaded");
    if (changed) await systemctl(env, ["daemon-reload"]);
    else console.log("unit files unchanged: no daemon-reload");
    await systemctl(env, ["reset-failed", ...plan.units], { allowFailure: true, quiet: true });
    await setProgress(40, "starting units");
    await systemctl(env, ["start", plan.qemuUnit]);
  });
}

export interface BootResult {
  vm: string;
  units: string[];
  console_log: string;
  qmp_socket: string;
  ssh: { host: string; port: number } | null;
  /** How to log in: `command`, or `ssh -F <ssh_config> <vm>`; null without an SSH forward. */
  login: ReturnType<typeof loginHelp> | null;
  /** The virtio console hvc0 (the guest's login console): attach to its socket. */
  console: { socket: string; log: string; attach: string };
  kernelrelease: string;
  state: string;
  accel: "kvm" | "tcg";
  ready: ReadyResult;
}

export async function waitBoot(prepared: PreparedBoot, env: Env = process.env): Promise<BootResult> {
  const { plan } = prepared;
  await setProgress(50, "waiting for the guest");
  const login = plan.login;
  const ready = await waitReady({
    consoleLog: plan.paths.consoleLog,
    marker: plan.readyMarker,
    sshPort: plan.readySsh ? plan.sshPort : null,
    // With the managed key, SSH counts only once root can log in with it.
    sshLogin:
      plan.readySsh && login?.key
        ? async () => {
            const res = await run(sshArgv(login, ["uname", "-r"]), { capture: true, allowFailure: true, quiet: true, timeoutMs: 20_000 });
            return res.exitCode === 0 ? res.stdout.trim() : null;
          }
        : null,
    timeoutMs: plan.timeoutS * 1000,
    stillRunning: async () => {
      const [q] = await unitStates(env, [plan.qemuUnit]);
      return Boolean(q && isUp(q));
    },
  });
  console.log(`${plan.vm} is up after ${ready.seconds.toFixed(1)} s (${ready.how}: ${ready.line})`);
  const state = await readState(plan.paths.stateFile);
  await writeState(plan.paths.stateFile, {
    vm: plan.vm,
    current: state?.current ?? { ...prepared.runs, configured_at: new Date().toISOString() },
    booted: { ...prepared.runs, up_at: new Date().toISOString(), kernelrelease_seen: ready.captured },
  });
  const [q] = await unitStates(env, [plan.qemuUnit]);
  await setProgress(100, "up");
  return {
    vm: plan.vm,
    units: plan.units,
    console_log: plan.paths.consoleLog,
    qmp_socket: plan.paths.qmpSocket,
    ssh: plan.sshPort ? { host: "127.0.0.1", port: plan.sshPort } : null,
    login: login ? loginHelp(login) : null,
    console: { socket: plan.paths.hvcSocket, log: plan.paths.hvcLog, attach: `socat -,rawer UNIX-CONNECT:${plan.paths.hvcSocket}` },
    kernelrelease: ready.captured ?? prepared.kernelrelease,
    state: q ? `${q.active}/${q.sub}` : "unknown",
    accel: plan.accel,
    ready,
  };
}

export interface StopResult {
  vm: string;
  was_running: boolean;
  how: "not running" | "powered off" | "killed";
  seconds: number;
  units: UnitState[];
}

async function guestUnits(env: Env, vm: string): Promise<string[]> {
  return [qemuUnit(vm), ...(await existingShareUnits(env, vm))];
}

/** Ask the guest to power off over QMP, wait at most `timeoutS`, then stop (kill) the units. */
export async function stopGuest(vm: string, timeoutS: number, env: Env = process.env): Promise<StopResult> {
  checkName("vm", vm);
  if (!Number.isFinite(timeoutS) || timeoutS < 0 || timeoutS > 3600) throw new InputError("timeout_s", "a number of seconds from 0 to 3600", timeoutS);
  const paths = vmPaths(workbenchLayout(env), env, vm);
  const started = Date.now();
  return withLock(lockPath(env, vm), { what: `the guest ${vm}` }, async () => {
    const units = await guestUnits(env, vm);
    const [q] = await unitStates(env, [qemuUnit(vm)]);
    const wasRunning = Boolean(q && isUp(q));
    let how: StopResult["how"] = "not running";
    if (wasRunning) {
      how = "killed";
      try {
        const reply = await qmpCommand(paths.qmpSocket, "system_powerdown", undefined, 3000);
        if (reply.error) console.log(`QMP system_powerdown: ${reply.error.desc}`);
        else console.log(`asked ${vm} to power off (QMP system_powerdown); waiting at most ${timeoutS} s`);
        const deadline = Date.now() + timeoutS * 1000;
        while (Date.now() < deadline) {
          const [s] = await unitStates(env, [qemuUnit(vm)]);
          if (!s || !isUp(s)) {
            how = "powered off";
            break;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      } catch (err) {
        console.log(`QMP: ${(err as Error).message}; stopping the units instead`);
      }
      if (how === "killed") console.log(`${vm} did not power off in ${timeoutS} s: stopping its units`);
    }
    // Stopping all of them in one transaction also stops leftover virtiofsd daemons, QEMU
    // first. A unit the manager cannot find (no template any more) has nothing to stop.
    const loaded = (await unitStates(env, units)).filter((s) => s.load === "loaded").map((s) => s.unit);
    if (loaded.length) await systemctl(env, ["stop", ...loaded]);
    const after = await unitStates(env, units);
    const left = after.filter((s) => isUp(s) || s.mainPid !== 0);
    if (left.length) throw new Error(`units still up after stop: ${left.map((s) => `${s.unit} (${s.active})`).join(", ")}`);
    return { vm, was_running: wasRunning, how, seconds: (Date.now() - started) / 1000, units: after };
  });
}

export interface StatusResult {
  vm: string;
  exists: boolean;
  state: "absent" | "running" | "starting" | "stopped" | "failed";
  uptime_s: number | null;
  units: UnitState[];
  runs: VmState["current"];
  booted: VmState["booted"];
  runs_current: boolean;
  console_log: string | null;
}

/** The guest's overall state from its units: QEMU decides, a failed daemon makes it failed. */
export function overallState(units: readonly UnitState[], exists: boolean): StatusResult["state"] {
  if (!exists) return "absent";
  const q = units[0];
  if (!q) return "absent";
  if (q.active === "active") return "running";
  if (q.active === "activating" || q.active === "reloading") return "starting";
  if (q.active === "failed" || units.some((u) => u.active === "failed")) return "failed";
  return "stopped";
}

export async function guestStatus(vm: string, env: Env = process.env, nowS = Date.now() / 1000): Promise<StatusResult> {
  checkName("vm", vm);
  const paths = vmPaths(workbenchLayout(env), env, vm);
  const state = await readState(paths.stateFile);
  const dropin = await stat(paths.qemuDropinDir).then(() => true, () => false);
  const exists = Boolean(state) || dropin;
  const units = exists ? await unitStates(env, await guestUnits(env, vm)) : [];
  const overall = overallState(units, exists);
  const q = units[0];
  return {
    vm,
    exists,
    state: overall,
    uptime_s: overall === "running" && q?.activeSince ? Math.max(0, Math.round(nowS - q.activeSince)) : null,
    units,
    runs: state?.current ?? null,
    booted: state?.booted ?? null,
    runs_current: runsCurrent(state),
    console_log: exists ? paths.consoleLog : null,
  };
}

export interface DestroyResult {
  vm: string;
  stopped: StopResult | null;
  removed: string[];
}

async function removeIfThere(path: string, removed: string[]): Promise<void> {
  const there = await stat(path).then(() => true, () => false);
  if (!there) return;
  await rm(path, { recursive: true, force: true });
  removed.push(path);
}

/** Stop the guest, then remove its drop-ins, state folder and runtime folder (and the templates when no guest is left). */
export async function destroyGuest(vm: string, env: Env = process.env, stopTimeoutS = 10): Promise<DestroyResult> {
  checkName("vm", vm);
  const paths: VmPaths = vmPaths(workbenchLayout(env), env, vm);
  const stopped = await stopGuest(vm, stopTimeoutS, env);
  const removed: string[] = [];
  await withLock(lockPath(env, vm), { what: `the guest ${vm}` }, async () => {
    const units = await guestUnits(env, vm);
    for (const u of units) await removeIfThere(join(paths.unitDir, `${u}.d`), removed);
    await removeIfThere(paths.stateDir, removed);
    await removeIfThere(paths.runDir, removed);
    const left = await readdir(paths.unitDir).catch(() => [] as string[]);
    if (!left.some((e) => /^(qemu-system|virtiofsd)@.+\.service\.d$/.test(e))) {
      await removeIfThere(paths.templates.qemu, removed);
      await removeIfThere(paths.templates.virtiofsd, removed);
    }
    await systemctl(env, ["daemon-reload"]);
    await systemctl(env, ["reset-failed", ...units], { allowFailure: true, quiet: true });
  });
  for (const r of removed) console.log(`removed ${r}`);
  return { vm, stopped, removed };
}
