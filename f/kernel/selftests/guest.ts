// The running guest as a kselftest run meets it: how to reach it (its ssh_config entry,
// which f/qsu/boot writes for the managed key), the ssh command line of the driver, and
// the probe that tells a dead guest from a hung one when a session ends early. Thin:
// the decisions are in session.ts (endState) and plan.ts.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";
import type { WorkbenchLayout } from "../../common/layout.ts";
import { run } from "../../common/run.ts";
import { qemuUnit, vmPaths } from "../../qsu/lib/names.ts";
import { qmpCommand } from "../../qsu/lib/qmp.ts";
import { isUp, unitStates } from "../../qsu/lib/systemctl.ts";
import type { GuestProbe } from "./session.ts";

type Env = Record<string, string | undefined>;

export interface GuestAccess {
  vm: string;
  /** `ssh -F <it> <vm>` logs in as root with the managed key. */
  ssh_config: string;
  console_log: string;
  qmp_socket: string;
}

/** Where the guest's login, console log and QMP socket are; a guest booted without an SSH forward cannot run tests. */
export function guestAccess(layout: WorkbenchLayout, env: Env, vm: string): GuestAccess {
  const p = vmPaths(layout, env, vm);
  const sshConfig = join(p.stateDir, "ssh_config");
  if (!existsSync(sshConfig)) throw new InputError("vm", "a guest booted with an SSH forward (f/qsu/boot's ssh_port) so the tests can log in", vm);
  return { vm, ssh_config: sshConfig, console_log: p.consoleLog, qmp_socket: p.qmpSocket };
}

/**
 * ssh running `command` (one line for the remote shell) in the guest through its
 * ssh_config entry: never prompting, giving up on a guest that stops answering after
 * 20 s of keepalives (a frozen guest ends the session instead of holding it).
 */
export function guestSshArgv(g: GuestAccess, command: string): string[] {
  return ["ssh", "-F", g.ssh_config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=4", g.vm, "--", command];
}

/** Is the guest dead (QEMU ended), hung (paused or silent) or answering? */
export async function probeGuest(g: GuestAccess, env: Env = process.env): Promise<GuestProbe> {
  const [q] = await unitStates(env, [qemuUnit(g.vm)]);
  if (!q || !isUp(q)) return { kind: "dead", detail: `${qemuUnit(g.vm)} is ${q ? `${q.active}/${q.sub}` : "gone"}` };
  const status = await qmpCommand(g.qmp_socket, "query-status", undefined, 5000).catch((e: Error) => ({ error: { desc: e.message } }) as { error: { desc: string }; return?: undefined });
  const running = (status as { return?: { status?: string } }).return?.status;
  if (running && running !== "running") return { kind: "hung", detail: `QEMU reports the guest ${running}` };
  const answer = await run(guestSshArgv(g, "true"), { quiet: true, allowFailure: true, timeoutMs: 30_000 });
  if (answer.exitCode !== 0) return { kind: "hung", detail: `no answer over SSH within 30 s (ssh exited ${answer.exitCode})` };
  return { kind: "answers" };
}
