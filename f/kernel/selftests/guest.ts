// The running guest as a kselftest run meets it: how to reach it (its ssh_config entry,
// which f/qsu/boot writes for the managed key), the ssh command line of the driver, and
// the probe that tells a dead guest from a hung one when a session ends early. Thin:
// the decisions are in session.ts (endState) and plan.ts.

import { existsSync } from "node:fs";
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
  const sshConfig = p.sshConfig;
  if (!existsSync(sshConfig)) throw new InputError("vm", "a guest booted with an SSH forward (f/qsu/boot's ssh_port) so the tests can log in", vm);
  return { vm, ssh_config: sshConfig, console_log: p.consoleLog, qmp_socket: p.qmpSocket };
}

/**
 * ssh running `command` (one line for the remote shell) in the guest through its
 * ssh_config entry: never prompting, 30 s to connect (a TCG guest under load is slow to
 * exchange keys), giving up on a guest that stops answering after 20 s of keepalives (a
 * frozen guest ends the session instead of holding it).
 */
export function guestSshArgv(g: GuestAccess, command: string): string[] {
  return ["ssh", "-F", g.ssh_config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=4", g.vm, "--", command];
}

/** The unit's state when QEMU has ended within `waitMs` (polled), else null. */
async function qemuEnded(g: GuestAccess, env: Env, waitMs: number): Promise<string | null> {
  const until = Date.now() + waitMs;
  for (;;) {
    const [q] = await unitStates(env, [qemuUnit(g.vm)]);
    if (!q || !isUp(q)) return `${qemuUnit(g.vm)} is ${q ? `${q.active}/${q.sub}` : "gone"}`;
    if (Date.now() >= until) return null;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Is the guest dead (QEMU ended), hung (paused, or silent over SSH) or answering? A
 * QEMU that does not answer on QMP is given a few seconds to end (a guest that is
 * quitting closes its QMP socket before its unit goes inactive).
 */
export async function probeGuest(g: GuestAccess, env: Env = process.env): Promise<GuestProbe> {
  const ended = await qemuEnded(g, env, 0);
  if (ended) return { kind: "dead", detail: ended };
  let status: string | null = null;
  try {
    const reply = await qmpCommand(g.qmp_socket, "query-status", undefined, 5000);
    status = (reply as { return?: { status?: string } }).return?.status ?? null;
  } catch (e) {
    const gone = await qemuEnded(g, env, 5000);
    if (gone) return { kind: "dead", detail: gone };
    return { kind: "hung", detail: `QEMU does not answer on QMP (${(e as Error).message})` };
  }
  if (status && status !== "running") return { kind: "hung", detail: `QEMU reports the guest ${status}` };
  const answer = await run(guestSshArgv(g, "true"), { quiet: true, allowFailure: true, timeoutMs: 30_000 });
  if (answer.exitCode === 0) return { kind: "answers" };
  const gone = await qemuEnded(g, env, 2000);
  if (gone) return { kind: "dead", detail: gone };
  return { kind: "hung", detail: `no answer over SSH within 30 s (ssh exited ${answer.exitCode})` };
}
