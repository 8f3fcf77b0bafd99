// Process lifetime: every command a step starts dies with the step, however the step
// ends (it returns, throws, is killed with SIGKILL, its engine or Windmill worker goes
// away), and whoever comes after a holder that died can find what it left running.
// docs/architecture.md ("Process lifetime") says why this mechanism and not another.
//
// Three parts, all plain Linux (no systemd, no cgroup delegation, no native code):
// - Each command runs in its own process group (and session); a timeout or a cleanup
//   signals the whole group, so make's compilers go with make.
// - A reaper: one small watcher process per process that starts commands, in a session
//   of its own, reading a pipe from its owner. The owner writes `+<pgid>` when a command
//   starts and `-<pgid>` when it ends. When the owner ends for any reason the kernel
//   closes the pipe; the reaper reads end-of-file and ends every group still listed
//   (SIGTERM, so make deletes half-written targets, then SIGKILL).
// - A lineage marker: every process started through here carries KDEVFLOW_LINEAGE in
//   its environment (readable in /proc/<pid>/environ), the tokens `<pid>.<start time>` of
//   each ancestor that started commands. A lock records its holder's token, so the next
//   holder of a stale lock finds and ends whatever the dead one left running, even when
//   its reaper was killed too (kill -9 of everything but the commands).

import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export const LINEAGE_VAR = "KDEVFLOW_LINEAGE";

/** The fields of /proc/<pid>/stat kdevflow reads. */
export interface ProcStat {
  pid: number;
  /** The executable's name as the kernel keeps it (at most 15 characters). */
  comm: string;
  /** R, S, D, Z (zombie: exited, not yet reaped), T ... */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Start time in clock ticks after boot: with the pid, it names one process for good. */
  start: number;
}

/** Parse the text of /proc/<pid>/stat (the name may hold spaces and parentheses). Pure. */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); field n is rest[n - 3]; starttime is field 22.
  const num = (field: number) => Number(rest[field - 3]);
  const stat = { pid, comm: text.slice(open + 1, close), state: rest[0] ?? "", ppid: num(4), pgid: num(5), sid: num(6), start: num(22) };
  return Number.isInteger(pid) && pid > 0 && Number.isFinite(stat.start) ? stat : null;
}

/** /proc/<pid>/stat, or null when there is no such process (or no /proc). */
export function procStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/** True while `pid` runs (a zombie has ended) and, when `start` is given, is still that process. */
export function isRunning(pid: number, start?: number): boolean {
  const st = procStat(pid);
  if (!st) return false;
  if (st.state === "Z" || st.state === "X") return false;
  return start === undefined || st.start === start;
}

/** `<pid>.<start>`: names this process (or `pid`) in lineage markers and lock records. */
export function processToken(pid: number = process.pid): string {
  const st = procStat(pid);
  return `${pid}.${st ? st.start : 0}`;
}

/** The tokens of a lineage value, outermost ancestor first. Pure. */
export function parseLineage(value: string | undefined): string[] {
  return (value ?? "").split(",").filter((t) => /^\d+\.\d+$/.test(t));
}

let ownLineage: string | undefined;

/**
 * This process's lineage: what it inherited plus its own token. Set in this process's
 * environment too, so anything it starts, by any means, carries it.
 */
export function selfLineage(): string {
  if (ownLineage === undefined) {
    const token = processToken();
    const inherited = parseLineage(process.env[LINEAGE_VAR]).filter((t) => t !== token);
    ownLineage = [...inherited, token].join(",");
    process.env[LINEAGE_VAR] = ownLineage;
  }
  return ownLineage;
}

/** How to recognise every process a holder started, from its environment. */
export interface ProcessMarker {
  /** The environment variable. */
  name: string;
  /** The value (exact), or one comma-separated member of it (member). */
  value: string;
  match: "exact" | "member";
}

/** The marker of the processes `pid` (started at `start`) started through run(). Pure. */
export function lineageMarker(pid: number, start: number): ProcessMarker {
  return { name: LINEAGE_VAR, value: `${pid}.${start}`, match: "member" };
}

/** The value of `name` in a NUL-separated environ text, or undefined. Pure. */
export function environValue(environ: string, name: string): string | undefined {
  const prefix = `${name}=`;
  for (const entry of environ.split("\0")) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return undefined;
}

/** Does an environ text carry the marker? Pure. */
export function environMatches(environ: string, marker: ProcessMarker): boolean {
  const value = environValue(environ, marker.name);
  if (value === undefined) return false;
  return marker.match === "exact" ? value === marker.value : value.split(",").includes(marker.value);
}

/** This process and its ancestors: never to be ended by it. */
function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  for (let pid = process.pid; pid > 1 && !out.has(pid); ) {
    out.add(pid);
    pid = procStat(pid)?.ppid ?? 0;
  }
  return out;
}

/** Every running process (zombies left out) whose environment carries the marker, except this one and its ancestors. */
export function findMarked(marker: ProcessMarker): ProcStat[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const skip = selfAndAncestors();
  const out: ProcStat[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (skip.has(pid)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, "latin1");
    } catch {
      continue;
    }
    if (!environMatches(environ, marker)) continue;
    const st = procStat(pid);
    if (st && st.state !== "Z" && st.state !== "X") out.push(st);
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** "9 processes (4 × cc1, 3 × make, as, sh)". Pure. */
export function describeProcesses(procs: readonly { comm: string }[]): string {
  const counts = new Map<string, number>();
  for (const p of procs) counts.set(p.comm, (counts.get(p.comm) ?? 0) + 1);
  const parts = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([comm, n]) => (n > 1 ? `${n} × ${comm}` : comm));
  const n = procs.length;
  return `${n} process${n === 1 ? "" : "es"}${n ? ` (${parts.join(", ")})` : ""}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signal(p: ProcStat, sig: NodeJS.Signals): void {
  // Checked just before signalling: a pid whose process ended may belong to another now.
  if (!isRunning(p.pid, p.start)) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    /* gone meanwhile, or not ours */
  }
}

export interface Ended {
  /** What was running when asked (and what appeared while ending it). */
  found: ProcStat[];
  /** What still ran at the end (not ours to signal, or unkillable). */
  left: ProcStat[];
}

/**
 * End the processes the marker finds: SIGTERM (make deletes half-written targets),
 * SIGKILL for what is still there after `graceMs`, looking again for processes they
 * started meanwhile, until none is left or `budgetMs` has passed.
 */
export async function endMarked(marker: ProcessMarker, opts: { graceMs?: number; budgetMs?: number } = {}): Promise<Ended> {
  const grace = opts.graceMs ?? 400;
  const deadline = Date.now() + (opts.budgetMs ?? 5000);
  const found = new Map<string, ProcStat>();
  let round = 0;
  for (;;) {
    const now = findMarked(marker);
    if (now.length === 0) return { found: [...found.values()], left: [] };
    for (const p of now) found.set(`${p.pid}.${p.start}`, p);
    if (Date.now() > deadline) return { found: [...found.values()], left: now };
    const sig: NodeJS.Signals = round === 0 ? "SIGTERM" : "SIGKILL";
    for (const p of now) signal(p, sig);
    const until = Date.now() + (round === 0 ? grace : 200);
    while (Date.now() < until && now.some((p) => isRunning(p.pid, p.start))) await sleep(25);
    round++;
  }
}

// ---- process groups --------------------------------------------------------------

/** Signal every process of a group; false when the group is empty or gone. */
export function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/** The running members of a process group (zombies left out). */
export function groupMembers(pgid: number): ProcStat[] {
  if (!signalGroup(pgid, 0)) return [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st && st.pgid === pgid && st.state !== "Z" && st.state !== "X") out.push(st);
  }
  return out;
}

/** SIGTERM a group, SIGKILL it after `graceMs` if anything is left; resolves when it is empty (or after 2 s more). */
export async function endGroup(pgid: number, graceMs = 2000): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  const until = Date.now() + graceMs;
  while (Date.now() < until && groupMembers(pgid).length) await sleep(25);
  if (!groupMembers(pgid).length) return;
  signalGroup(pgid, "SIGKILL");
  const hard = Date.now() + 2000;
  while (Date.now() < hard && groupMembers(pgid).length) await sleep(25);
}

// ---- the reaper ------------------------------------------------------------------

/** How long the reaper waits between SIGTERM and SIGKILL, in 50 ms polls (400 ms). */
export const REAPER_POLLS = 8;

/**
 * The reaper, a fixed bash script (no user text reaches it). $1 is the number of 50 ms
 * polls between SIGTERM and SIGKILL. It ignores the signals a terminal or a group kill
 * sends, so it outlives its owner by the time it takes to end the owner's groups.
 * A poll waits with `read -t` on a pipe nobody writes to (opened read-write once, at
 * the start), not with `sleep`: starting a process per poll made each poll 70 to 80 ms
 * instead of 50 on a quiet machine and more on one busy with a killed build's files, and
 * once the polls ran past the second in which a killed run must be gone
 * (tests/integration/kernel-faults.test.ts, kill -9 while objtool was being built).
 */
export const REAPER_SCRIPT = [
  "trap '' HUP INT TERM PIPE",
  "exec {tick}<> <(:)",
  "declare -A groups=()",
  "while IFS= read -r line; do",
  '  case $line in',
  '    +[0-9]*) groups[${line#+}]=1 ;;',
  '    -[0-9]*) unset "groups[${line#-}]" ;;',
  "  esac",
  "done",
  "(( ${#groups[@]} )) || exit 0",
  'for g in "${!groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done',
  "for (( i = 0; i < $1; i++ )); do",
  "  left=0",
  '  for g in "${!groups[@]}"; do kill -0 -- "-$g" 2>/dev/null && left=1; done',
  "  (( left )) || exit 0",
  '  read -r -t 0.05 -u "$tick" _',
  "done",
  'for g in "${!groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done',
  "",
].join("\n");

/**
 * The reaper's argument vector. Pure. `--norc --noprofile`: the reaper's stdin is a
 * socket (Node's stdio pipes are socket pairs), and Debian's bash then takes itself for a
 * command run by rshd and sources ~/.bashrc, whose `pyenv init` was seen to hold a
 * reaper for a minute before it read its first line.
 */
export function reaperArgv(polls: number = REAPER_POLLS): string[] {
  return ["bash", "--norc", "--noprofile", "-c", REAPER_SCRIPT, "kdevflow-reaper", String(polls)];
}

/** The reaper's environment: this one without BASH_ENV and ENV, which bash -c would source first. Pure. */
export function reaperEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { BASH_ENV: _bashEnv, ENV: _env, ...rest } = env;
  return rest;
}

let reaper: ChildProcess | null = null;
const guarded = new Set<number>();

function reaperAlive(): boolean {
  return reaper !== null && reaper.exitCode === null && reaper.signalCode === null && reaper.stdin !== null && !reaper.stdin.destroyed;
}

function startReaper(): ChildProcess | null {
  selfLineage();
  let child: ChildProcess;
  try {
    const [cmd, ...args] = reaperArgv();
    child = spawn(cmd!, args, { stdio: ["pipe", "ignore", "ignore"], detached: true, env: reaperEnv(process.env) });
  } catch {
    return null;
  }
  child.on("error", () => {
    /* no bash: commands still end with their step on every path but SIGKILL */
  });
  child.stdin?.on("error", () => {
    /* the reaper died; the next command starts another */
  });
  // Neither the reaper nor its pipe keeps this process alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  for (const pgid of guarded) child.stdin?.write(`+${pgid}\n`);
  return child;
}

/**
 * Put a process group under the reaper: if this process ends before `release` is
 * called, the group is ended. Call `release` once the group has been emptied.
 */
export function guardGroup(pgid: number): () => void {
  guarded.add(pgid);
  if (!reaperAlive()) reaper = startReaper();
  else reaper!.stdin!.write(`+${pgid}\n`);
  return () => {
    if (!guarded.delete(pgid)) return;
    if (reaperAlive()) reaper!.stdin!.write(`-${pgid}\n`);
  };
}

/** The reaper's pid (for tests and diagnostics), or null before the first command. */
export function reaperPid(): number | null {
  return reaperAlive() ? (reaper!.pid ?? null) : null;
}
