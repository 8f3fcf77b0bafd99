// Named locks on the Workbench, so concurrent runs on one mirror or one worktree slot
// are serialised by a lock, not by luck. A lock is a file holding the owner's record,
// hard-linked into place so it never exists empty and never changes: its inode names
// one holding. A waiter says once what it waits for and who holds it.
//
// The record says who holds the lock (pid, and the pid's start time, so a reused pid is
// not mistaken for the holder) and how to find every process the holder started (a
// marker in their environment: by default this process's lineage token, proc.ts). A
// lock whose holder is gone (on this host) is stale: the next holder first ends what the
// dead one left running (a make still writing into the worktree), says in one sentence
// what it found and did, then takes the lock. A lease held across processes (a flow's
// worktree from prepare to collect) records its own marker and uses the same pieces:
// holderRecord, isStale, endHolder.
//
// A lock this process holds is removed when it exits, whatever the path (an exception,
// process.exit from a signal handler); only SIGKILL leaves it for the next holder.

import { readFileSync, rmSync, statSync } from "node:fs";
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { describeProcesses, endMarked, isRunning, lineageMarker, procStat, selfLineage, type ProcessMarker } from "./proc.ts";

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  what: string;
  /** The holder's start time (/proc/<pid>/stat): a pid running something else is not the holder. */
  start?: number;
  /** Finds every process the holder started (default: its lineage token). */
  marker?: ProcessMarker;
}

export interface LockOptions {
  /** What the lock protects, for the waiting message. */
  what: string;
  /** Give up after this many milliseconds (default: wait for ever). */
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
  /** How a later holder finds the processes this holder starts (default: this process's lineage). */
  marker?: ProcessMarker;
}

export class LockTimeout extends Error {
  constructor(path: string, owner: LockOwner | null) {
    super(`timed out waiting for the lock ${path}${owner ? ` held by pid ${owner.pid} on ${owner.host} since ${owner.since}` : ""}`);
    this.name = "LockTimeout";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The record this process writes when it takes a lock. */
export function holderRecord(what: string, marker?: ProcessMarker): LockOwner {
  selfLineage(); // from here on, everything this process starts carries its token
  const start = procStat(process.pid)?.start;
  const own = start === undefined ? undefined : lineageMarker(process.pid, start);
  const chosen = marker ?? own;
  return { pid: process.pid, host: hostname(), since: new Date().toISOString(), what, ...(start !== undefined ? { start } : {}), ...(chosen ? { marker: chosen } : {}) };
}

/** True when the owner is a process on this host that no longer runs (or whose pid now runs something else). */
export function isStale(owner: LockOwner | null, host: string = hostname()): boolean {
  if (!owner || owner.host !== host) return false;
  if (!alive(owner.pid)) return true;
  return typeof owner.start === "number" && !isRunning(owner.pid, owner.start);
}

/** The processes a dead holder left running, ended (SIGTERM, then SIGKILL). */
export async function endHolder(owner: LockOwner): Promise<{ ended: number; left: number; sentence: string }> {
  const marker = owner.marker ?? (typeof owner.start === "number" ? lineageMarker(owner.pid, owner.start) : null);
  if (!marker) return { ended: 0, left: 0, sentence: `pid ${owner.pid} is gone (its lock does not say how to find what it started)` };
  const { found, left } = await endMarked(marker);
  const ended = found.length - left.length;
  let sentence: string;
  if (found.length === 0) sentence = `pid ${owner.pid} is gone and nothing it started is still running`;
  else {
    sentence = `pid ${owner.pid} is gone but ${describeProcesses(found)} it started were still running; ended them`;
    if (left.length) sentence += `, except ${describeProcesses(left)} that would not end (pids ${left.map((p) => p.pid).join(", ")})`;
  }
  return { ended, left: left.length, sentence };
}

/** The lock's record and the inode that names this holding, or nulls when it cannot be read. */
async function readLock(path: string): Promise<{ owner: LockOwner | null; ino: number | null }> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch {
    return { owner: null, ino: null };
  }
  try {
    const ino = (await fh.stat()).ino;
    try {
      return { owner: JSON.parse(await fh.readFile("utf8")) as LockOwner, ino };
    } catch {
      return { owner: null, ino };
    }
  } finally {
    await fh.close();
  }
}

/** Create the lock with `owner` in it; its inode, or null when it exists. */
async function tryCreate(path: string, owner: LockOwner): Promise<number | null> {
  // Write the owner beside the lock, then hard-link it into place: link() fails if the
  // lock exists, and a waiter never sees a lock file without its owner in it.
  const tmp = `${path}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await writeFile(tmp, JSON.stringify(owner));
  try {
    await link(tmp, path);
    return (await stat(tmp)).ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return null;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Remove the lock file if it still is the holding `ino` names: moved aside first, so a
 * fresh lock another taker made meanwhile is put back, not deleted.
 */
async function removeIfSame(path: string, ino: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await rename(path, aside);
  } catch {
    return; // already gone
  }
  try {
    if ((await stat(aside)).ino !== ino) await link(aside, path).catch(() => undefined);
  } finally {
    await rm(aside, { force: true });
  }
}

// Locks this process holds (path -> inode), removed on exit whatever the exit path.
const held = new Map<string, number>();
let exitHook = false;

function releaseHeldOnExit(): void {
  for (const [path, ino] of held) {
    try {
      if (statSync(path).ino === ino && readLockOwner(path)?.pid === process.pid) rmSync(path, { force: true });
    } catch {
      /* already gone */
    }
  }
  held.clear();
}

/** Take the lock at `path`, run `fn`, release the lock whatever happens. */
export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const log = opts.log ?? ((line: string) => console.log(line));
  const me = holderRecord(opts.what, opts.marker);
  const started = Date.now();
  let announced = false;
  // An unreadable lock file (not one of ours: ours are linked in whole) is given a grace
  // period before it counts as stale.
  let unreadableSince: number | null = null;
  let ino: number | null;
  for (;;) {
    ino = await tryCreate(path, me);
    if (ino !== null) break;
    const current = await readLock(path);
    const owner = current.owner;
    if (current.ino !== null && owner === null) unreadableSince ??= Date.now();
    else unreadableSince = null;
    const staleEmpty = unreadableSince !== null && Date.now() - unreadableSince > 2000;
    if (current.ino !== null && (isStale(owner) || staleEmpty)) {
      const what = owner ? (await endHolder(owner)).sentence : "its record is unreadable";
      log(`lock: taking over the stale lock on ${opts.what}: ${what}`);
      await removeIfSame(path, current.ino);
      continue;
    }
    if (current.ino === null) continue; // released meanwhile
    if (!announced) {
      log(`lock: waiting for ${opts.what}${owner ? `, held by pid ${owner.pid} since ${owner.since}` : ""}`);
      announced = true;
    }
    if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) throw new LockTimeout(path, owner);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
  if (announced) log(`lock: got ${opts.what} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  held.set(path, ino);
  if (!exitHook) {
    process.on("exit", releaseHeldOnExit);
    exitHook = true;
  }
  try {
    return await fn();
  } finally {
    held.delete(path);
    const now = await readLock(path);
    if (now.ino === ino && now.owner?.pid === me.pid && now.owner.since === me.since) await rm(path, { force: true });
  }
}

/** The record of the lock at `path` (null when free or unreadable). For status and tests. */
export function readLockOwner(path: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockOwner;
  } catch {
    return null;
  }
}
