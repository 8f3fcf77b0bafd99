// Mirrors: SYSTEM_DIR/mirror/<name>.git, a `git clone --mirror` of an upstream.
//
// A clone happens in a hidden `.<name>.git.incoming` directory; the marker file
// (MIRROR_MARKER) is written only once the clone completed, and only then is the
// directory renamed into place. So a clone killed halfway leaves either a leftover
// incoming directory or (from an older or hand-made mirror) a directory without the
// marker, and the next init removes it and clones again: an incomplete mirror is never
// taken for a complete one, and never skipped for ever. One lock per mirror serialises
// clones, refreshes and the Bare fetches that read it.

import { readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../common/atomic.ts";
import { InputError } from "../common/errors.ts";
import type { WorkbenchLayout } from "../common/layout.ts";
import { withLock } from "../common/lock.ts";
import { configValues, exists, git, listRefs, readText } from "./git.ts";
import { gitArgv, MIRROR_MARKER, mirrorPaths, type MirrorPaths } from "./plan.ts";
import { diffRefs, type RefChanges, type RefMap } from "./refs.ts";
import { isDue, type Source } from "./sources.ts";

export interface MirrorState {
  url: string;
  cloned_at: string;
  refreshed_at: string;
  /** The source's refresh interval as last given, so a fetch without sources knows it. */
  refresh_minutes?: number;
}

export interface MirrorResult {
  name: string;
  url: string;
  mirror: string;
  /** What this run did: created it, refreshed it, found it as it was, or skipped it (not due). */
  action: "created" | "refreshed" | "unchanged" | "skipped";
  /** What was wrong and got repaired (an interrupted clone, a changed URL), if anything. */
  repaired: string[];
  refs: number;
  changes: RefChanges;
  refreshed_at: string;
}

function intervalOf(source: Source): Pick<MirrorState, "refresh_minutes"> {
  return source.refresh_minutes === undefined ? {} : { refresh_minutes: source.refresh_minutes };
}

/**
 * The sources this Workbench already mirrors (complete mirrors, by name), with the URL
 * and interval their last sync recorded: what a fetch refreshes when it is given no list.
 */
export async function mirroredSources(l: WorkbenchLayout): Promise<Source[]> {
  const names = (await readdir(join(l.systemDir, "mirror")).catch(() => [] as string[])).filter((n) => n.endsWith(".git") && !n.startsWith("."));
  const out: Source[] = [];
  for (const n of names.sort()) {
    const state = await readState(mirrorPaths(l, n.slice(0, -4)));
    if (state) out.push({ name: n.slice(0, -4), url: state.url, ...(state.refresh_minutes === undefined ? {} : { refresh_minutes: state.refresh_minutes }) });
  }
  return out;
}

async function readState(p: MirrorPaths): Promise<MirrorState | null> {
  const text = await readText(p.marker);
  if (text === null) return null;
  try {
    return JSON.parse(text) as MirrorState;
  } catch {
    return null;
  }
}

/** True when the mirror exists and its clone completed. */
export async function mirrorComplete(l: WorkbenchLayout, name: string): Promise<boolean> {
  return (await readState(mirrorPaths(l, name))) !== null;
}

/**
 * Prove, before anything on disk changes, that each source that still needs a clone
 * names a git repository (`git ls-remote` reads it without writing anything).
 */
export async function checkSourcesReachable(l: WorkbenchLayout, sources: readonly Source[]): Promise<void> {
  for (const [i, s] of sources.entries()) {
    if (await mirrorComplete(l, s.name)) continue;
    const res = await git(gitArgv.lsRemote(s.url), { capture: true, quiet: true, allowFailure: true, timeoutMs: 120_000 });
    if (res.exitCode !== 0) {
      const why = `${res.stderr}${res.stdout}`.split("\n").find((line) => line.trim()) ?? `git ls-remote exited with ${res.exitCode}`;
      throw new InputError(`sources[${i}].url`, `a git repository git ls-remote can read (${why.trim().replace(/\.$/, "")})`, s.url);
    }
  }
}

async function clone(p: MirrorPaths, source: Source, repaired: string[]): Promise<MirrorState> {
  if (await exists(p.incoming)) {
    repaired.push("removed an interrupted clone");
    await rm(p.incoming, { recursive: true, force: true });
  }
  if (await exists(p.dir)) {
    repaired.push("re-cloned a mirror whose clone never completed");
    await rm(p.dir, { recursive: true, force: true });
  }
  await git(gitArgv.cloneMirror(source.url, p.incoming));
  await git(gitArgv.mirrorKeepObjects(p.incoming));
  const now = new Date().toISOString();
  const state: MirrorState = { url: source.url, cloned_at: now, refreshed_at: now, ...intervalOf(source) };
  await writeJsonAtomic(join(p.incoming, MIRROR_MARKER), state);
  await rename(p.incoming, p.dir);
  return state;
}

async function refresh(p: MirrorPaths, source: Source, state: MirrorState, repaired: string[]): Promise<MirrorState> {
  const urls = await configValues(p.dir, "remote.origin.url");
  if (urls[0] !== source.url) {
    repaired.push(`upstream URL changed from ${urls[0] ?? "(none)"} to ${source.url}`);
    await git(gitArgv.setOriginUrl(p.dir, source.url));
  }
  await git(gitArgv.refreshMirror(p.dir));
  const next: MirrorState = { ...state, url: source.url, refreshed_at: new Date().toISOString(), ...intervalOf(source) };
  await writeJsonAtomic(p.marker, next);
  return next;
}

export type MirrorMode = "ensure" | "refresh" | "refresh-due";

/**
 * Make the mirror of `source` exist and be complete, then, per `mode`: leave a healthy
 * one as it is (`ensure`, what init does, except that a changed URL is refetched),
 * refresh it (`refresh`), or refresh it only when its interval has passed
 * (`refresh-due`, what the schedule does). Returns the refs that changed.
 */
export async function syncMirror(l: WorkbenchLayout, source: Source, mode: MirrorMode, now: number = Date.now()): Promise<MirrorResult> {
  const p = mirrorPaths(l, source.name);
  return withLock(p.lock, { what: `mirror ${source.name}` }, async () => {
    const repaired: string[] = [];
    let state = await readState(p);
    let before: RefMap = new Map();
    let action: MirrorResult["action"];
    if (state === null) {
      state = await clone(p, source, repaired);
      action = "created";
    } else {
      before = await listRefs(p.dir);
      const urlChanged = state.url !== source.url;
      const due = mode === "refresh" || (mode === "refresh-due" && isDue(source, Date.parse(state.refreshed_at), now));
      if (due || urlChanged) {
        state = await refresh(p, source, state, repaired);
        action = "refreshed";
      } else {
        action = mode === "ensure" ? "unchanged" : "skipped";
      }
    }
    const after = await listRefs(p.dir);
    return {
      name: source.name,
      url: source.url,
      mirror: p.dir,
      action,
      repaired,
      refs: after.size,
      changes: diffRefs(before, after),
      refreshed_at: state.refreshed_at,
    };
  });
}

/** Provision the mirror if needed (init). */
export function ensureMirror(l: WorkbenchLayout, source: Source): Promise<MirrorResult> {
  return syncMirror(l, source, "ensure");
}

/** Refresh the mirror from upstream, provisioning it first if needed (fetch). */
export function refreshMirror(l: WorkbenchLayout, source: Source, onlyDue = false, now?: number): Promise<MirrorResult> {
  return syncMirror(l, source, onlyDue ? "refresh-due" : "refresh", now);
}
