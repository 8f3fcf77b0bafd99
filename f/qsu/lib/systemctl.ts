// Thin wrappers over `systemctl --user`. The environment decides which user manager
// answers (XDG_RUNTIME_DIR, and DBUS_SESSION_BUS_ADDRESS when there is one): a step
// passes its own, a test passes the one of the manager it started.

import type { Env } from "../../common/layout.ts";
import { capture, run, type RunResult } from "../../common/run.ts";

export function systemctlArgv(args: readonly string[]): string[] {
  return ["systemctl", "--user", ...args];
}

export async function systemctl(env: Env, args: readonly string[], opts: { allowFailure?: boolean; quiet?: boolean } = {}): Promise<RunResult> {
  return run(systemctlArgv(args), { env, allowFailure: opts.allowFailure, quiet: opts.quiet, capture: true, timeoutMs: 120_000 });
}

export interface UnitState {
  unit: string;
  load: string;
  active: string;
  sub: string;
  mainPid: number;
  /** When the unit last became active (unix seconds), or null. */
  activeSince: number | null;
  result: string;
  /** The unit's files changed on disk since the manager loaded them. */
  needReload: boolean;
}

export const UNIT_PROPS = ["Id", "LoadState", "ActiveState", "SubState", "MainPID", "ActiveEnterTimestamp", "Result", "NeedDaemonReload"];

/** Parse `systemctl show -p ... a b c` output: one block per unit, blank-line separated, in order. */
export function parseShow(text: string, units: readonly string[]): UnitState[] {
  const blocks = text.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  return units.map((unit, i) => {
    const props: Record<string, string> = {};
    for (const line of (blocks[i] ?? "").split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
    }
    const since = props.ActiveEnterTimestamp?.replace(/^@/, "");
    return {
      unit,
      load: props.LoadState ?? "unknown",
      active: props.ActiveState ?? "unknown",
      sub: props.SubState ?? "unknown",
      mainPid: Number(props.MainPID ?? 0) || 0,
      activeSince: since && /^\d+$/.test(since) && since !== "0" ? Number(since) : null,
      result: props.Result ?? "unknown",
      needReload: props.NeedDaemonReload === "yes",
    };
  });
}

export async function unitStates(env: Env, units: readonly string[]): Promise<UnitState[]> {
  if (units.length === 0) return [];
  const out = await capture(systemctlArgv(["show", "--timestamp=unix", ...UNIT_PROPS.map((p) => `--property=${p}`), ...units]), { env });
  return parseShow(out, units);
}

export function isUp(s: UnitState): boolean {
  return s.active === "active" || s.active === "activating" || s.active === "reloading" || s.active === "deactivating";
}
