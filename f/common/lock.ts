// Named locks on the Workbench, so concurrent runs on one mirror or one worktree slot
// are serialised by a lock, not by luck. A lock is a file holding the owner's pid and
// host, hard-linked into place so it never exists empty; a lock whose owner process is
// gone (on this host) is stale and is taken over. A waiter says once what it waits for
// and who holds it.

import { link, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  what: string;
}

export interface LockOptions {
  /** What the lock protects, for the waiting message. */
  what: string;
  /** Give up after this many milliseconds (default: wait for ever). */
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
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

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as LockOwner;
  } catch {
    return null;
  }
}

/** True when the lock file's owner is a process on this host that no longer runs. */
export function isStale(owner: LockOwner | null, host: string = hostname()): boolean {
  if (!owner) return false;
  return owner.host === host && !alive(owner.pid);
}

async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  // Write the owner beside the lock, then hard-link it into place: link() fails if the
  // lock exists, and a waiter never sees a lock file without its owner in it.
  const tmp = `${path}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await writeFile(tmp, JSON.stringify(owner));
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Take the lock at `path`, run `fn`, release the lock whatever happens. */
export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const log = opts.log ?? ((line: string) => console.log(line));
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what: opts.what };
  const started = Date.now();
  let announced = false;
  // An empty or unreadable lock file (its writer died between create and write) is
  // given a grace period before it counts as stale.
  let unreadableSince: number | null = null;
  for (;;) {
    if (await tryCreate(path, me)) break;
    const owner = await readOwner(path);
    if (owner === null) unreadableSince ??= Date.now();
    else unreadableSince = null;
    const staleEmpty = unreadableSince !== null && Date.now() - unreadableSince > 2000;
    if (isStale(owner) || staleEmpty) {
      log(`lock: taking over the stale lock on ${opts.what}${owner ? ` (pid ${owner.pid} is gone)` : ""}`);
      await rm(path, { force: true });
      continue;
    }
    if (!announced) {
      log(`lock: waiting for ${opts.what}${owner ? `, held by pid ${owner.pid} since ${owner.since}` : ""}`);
      announced = true;
    }
    if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) throw new LockTimeout(path, owner);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
  if (announced) log(`lock: got ${opts.what} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  try {
    return await fn();
  } finally {
    const owner = await readOwner(path);
    if (owner && owner.pid === me.pid && owner.since === me.since) await rm(path, { force: true });
  }
}
