// Warm worktrees: WORKERS_DIR/<slot>/<project>, a `git worktree add` of the project's
// Bare, re-synced to the requested ref on every build. A re-sync is a detached
// checkout, which rewrites only the files that differ between the two commits, so
// every other file keeps its mtime and make or ninja rebuild only what changed.
//
// prepareWorktree validates everything first (project, ref, slot) without touching the
// disk, then takes the worktree's lock (a second build on the same slot waits and says
// so), repairs what a crash left behind (a worktree whose admin directory is gone, a
// stale index.lock, a leftover re-adoption directory), and syncs.

import { mkdir, realpath, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InputError } from "../common/errors.ts";
import { workbenchLayout, type WorkbenchLayout } from "../common/layout.ts";
import { withLock } from "../common/lock.ts";
import { setProgress } from "../common/progress.ts";
import { requireBare } from "./bare.ts";
import { holderFromEnv, leaseWorktree } from "./lease.ts";
import { exists, git, gitOut, listRefs, readText } from "./git.ts";
import { barePaths, gitArgv, parseGitFile, worktreePaths, type WorktreePaths } from "./plan.ts";
import { checkRefSyntax, closeRefs, isHexPrefix, resolveNamedRef } from "./refs.ts";

export interface PrepareOptions {
  project: string;
  ref: string;
  /** Use a shared named tree (WORKERS_DIR/<sharedName or "shared">/<project>) instead of the worker's own. */
  shared?: boolean;
  sharedName?: string;
  /** Delete the worktree (with its build/ and destdir/) and add it afresh. */
  recreate?: boolean;
  layout?: WorkbenchLayout;
  /**
   * Lease the worktree for this flow run (lease.ts), taking the next free one of the slot
   * when another run holds the first. On inside a flow (WM_FLOW_JOB_ID set); a script run
   * on its own takes a worktree no run holds but leases nothing.
   */
  lease?: boolean;
}

export interface PreparedWorktree {
  worktree: string;
  build_dir: string;
  destdir: string;
  /** The full commit id the ref resolved to. */
  commit: string;
  /** The ref as given. */
  ref: string;
  /** The commit's tree hash (the source half of a build identity). */
  tree: string;
}

export interface PrepareDetails extends PreparedWorktree {
  project: string;
  slot: string;
  bare: string;
  /** The full ref name the ref resolved through, or null for a commit id. */
  resolved_ref: string | null;
  action: "created" | "synced" | "recreated" | "repaired";
  repaired: string[];
}

export interface ResolvedRef {
  commit: string;
  refname: string | null;
}

/**
 * Resolve a user's ref in the Bare: a tag, a developer branch, `mirror/<branch>` (or an
 * upstream branch by its plain name), then a full or abbreviated commit id. A ref that
 * is not there is an InputError that names the closest refs. Reads only.
 */
export async function resolveRef(bare: string, ref: string, project = "project", field = "ref"): Promise<ResolvedRef> {
  const bad = checkRefSyntax(ref);
  if (bad) throw new InputError(field, bad, ref);
  const refs = await listRefs(bare);
  const named = resolveNamedRef(ref, refs);
  const rev = named ? named.oid : isHexPrefix(ref) ? ref : null;
  if (rev) {
    const res = await git(gitArgv.verifyCommit(bare, rev), { capture: true, quiet: true, allowFailure: true });
    if (res.exitCode === 0) return { commit: res.stdout.trim(), refname: named ? named.refname : null };
    const why = `${res.stderr}`;
    if (/ambiguous/i.test(why)) throw new InputError(field, "an abbreviated commit id long enough to be unique", ref);
    if (named) throw new InputError(field, `a ref that names a commit (${named.refname} does not)`, ref);
  }
  const close = closeRefs(ref, refs.keys());
  const hint = close.length ? ` (closest: ${close.join(", ")})` : " (none is close)";
  throw new InputError(field, `a tag, branch, mirror/<branch> or commit id in the ${project} Bare${hint}`, ref);
}

// Lock paths this process holds, so prepareWorktree inside withWorktreeLock does not
// wait for itself.
const held = new Set<string>();

async function lockWorktree<T>(paths: WorktreePaths, project: string, fn: () => Promise<T>): Promise<T> {
  if (held.has(paths.lock)) return fn();
  return withLock(paths.lock, { what: `worktree ${paths.slot}/${project}` }, async () => {
    held.add(paths.lock);
    try {
      return await fn();
    } finally {
      held.delete(paths.lock);
    }
  });
}

/**
 * Hold a worktree's lock while `fn` runs: a caller that builds in the same process can
 * keep the tree for the whole build (prepareWorktree called inside does not wait for
 * it). Other processes preparing the same slot wait and say they are waiting.
 */
export async function withWorktreeLock<T>(
  opts: { project: string; shared?: boolean; sharedName?: string; layout?: WorkbenchLayout },
  fn: (paths: WorktreePaths) => Promise<T>,
): Promise<T> {
  const layout = opts.layout ?? workbenchLayout();
  await requireBare(layout, opts.project);
  const paths = worktreePaths(layout, opts.project, opts);
  return lockWorktree(paths, opts.project, () => fn(paths));
}

type TreeState = { kind: "absent" } | { kind: "ok"; admin: string } | { kind: "broken"; why: string };

/** Is `wt` a worktree of `bare` whose admin directory is intact? Reads only. */
async function inspect(wt: string, bare: string): Promise<TreeState> {
  if (!(await exists(wt))) return { kind: "absent" };
  const dotgit = join(wt, ".git");
  let isFile = false;
  try {
    isFile = (await stat(dotgit)).isFile();
  } catch {
    return { kind: "broken", why: "it has no .git" };
  }
  if (!isFile) return { kind: "broken", why: "its .git is not a worktree link" };
  const admin = parseGitFile((await readText(dotgit)) ?? "");
  if (!admin) return { kind: "broken", why: "its .git file is unreadable" };
  const adminAbs = resolve(wt, admin);
  if (!(await exists(join(adminAbs, "HEAD")))) return { kind: "broken", why: "its admin directory is gone" };
  // git writes real paths; compare real paths so a symlink in SYSTEM_DIR is no mismatch.
  const adminReal = await realpath(adminAbs);
  if (!adminReal.startsWith(join(await realpath(bare), "worktrees") + "/")) return { kind: "broken", why: `it belongs to another repository (${adminAbs})` };
  return { kind: "ok", admin: adminAbs };
}

/** True when the admin directory's `gitdir` file points back at this worktree's .git. */
async function linksBack(admin: string, wt: string): Promise<boolean> {
  const back = (await readText(join(admin, "gitdir")))?.trim();
  if (!back) return false;
  try {
    return (await realpath(resolve(admin, back))) === (await realpath(join(wt, ".git")));
  } catch {
    return false;
  }
}

/** Remove git lock files a killed git left in a worktree's admin directory. */
async function clearStaleGitLocks(admin: string, repaired: string[]): Promise<void> {
  for (const name of ["index.lock", "HEAD.lock"]) {
    const path = join(admin, name);
    if (await exists(path)) {
      // We hold the worktree lock, so no git of ours runs in this tree: the lock is stale.
      await unlink(path);
      repaired.push(`removed a stale ${name}`);
    }
  }
}

/**
 * Attach an existing directory (files kept, mtimes kept) to the Bare as a worktree at
 * `commit`: add an empty worktree beside it without a checkout, move its .git link in,
 * point the admin directory back at it, and fill the index from HEAD without touching
 * a file. The checkout that follows rewrites only what differs.
 */
async function adopt(bare: string, paths: WorktreePaths, commit: string): Promise<void> {
  await rm(join(paths.worktree, ".git"), { recursive: true, force: true });
  await mkdir(dirname(paths.adopt), { recursive: true });
  await git(gitArgv.worktreeAddNoCheckout(bare, paths.adopt, commit));
  await rename(join(paths.adopt, ".git"), join(paths.worktree, ".git"));
  await rmdir(paths.adopt);
  await rmdir(dirname(paths.adopt)).catch(() => undefined);
  // Pointing the admin directory at the moved link is what repair is for here: its
  // "gitdir incorrect" report is expected, so it reaches the log only if repair fails.
  await git(gitArgv.worktreeRepair(bare, paths.worktree), { quiet: true });
  await git(gitArgv.readTree(paths.worktree));
}

async function sync(project: string, bare: string, bareLock: string, paths: WorktreePaths, commit: string, recreate: boolean): Promise<{ action: PrepareDetails["action"]; repaired: string[] }> {
  const repaired: string[] = [];
  let action: PrepareDetails["action"] = "synced";
  let state = await inspect(paths.worktree, bare);
  const admin = async (fn: () => Promise<void>) => withLock(bareLock, { what: `bare ${project}` }, fn);

  if (await exists(paths.adopt)) {
    repaired.push("removed a leftover re-adoption directory");
    await rm(paths.adopt, { recursive: true, force: true });
    await rmdir(dirname(paths.adopt)).catch(() => undefined);
  }
  if (recreate && state.kind !== "absent") {
    await admin(async () => {
      await git(gitArgv.worktreeRemove(bare, paths.worktree), { allowFailure: true });
      await rm(paths.worktree, { recursive: true, force: true });
      await git(gitArgv.worktreePrune(bare));
    });
    state = { kind: "absent" };
    action = "recreated";
  }
  if (state.kind === "absent") {
    await mkdir(dirname(paths.worktree), { recursive: true });
    await admin(async () => {
      await git(gitArgv.worktreePrune(bare));
      await git(gitArgv.worktreeAdd(bare, paths.worktree, commit));
    });
    if (action !== "recreated") action = "created";
  } else if (state.kind === "broken") {
    console.log(`worktree ${paths.worktree}: ${state.why}; re-attaching it to the Bare, files kept`);
    await admin(async () => {
      await git(gitArgv.worktreePrune(bare));
      await adopt(bare, paths, commit);
    });
    repaired.push(`re-attached the worktree (${state.why})`);
    action = "repaired";
  } else {
    await clearStaleGitLocks(state.admin, repaired);
    if (!(await linksBack(state.admin, paths.worktree))) {
      await admin(() => git(gitArgv.worktreeRepair(bare, paths.worktree), { quiet: true }).then(() => undefined));
      repaired.push("repaired the admin directory's link back to the worktree");
    }
  }
  // Stat-only refresh first: files whose content matches keep their mtime.
  await git(gitArgv.refreshIndex(paths.worktree), { allowFailure: true, quiet: true });
  await git(gitArgv.checkout(paths.worktree, commit));
  const head = await gitOut(gitArgv.head(paths.worktree));
  if (head !== commit) throw new Error(`worktree ${paths.worktree} is at ${head} after checking out ${commit}`);
  await mkdir(paths.build_dir, { recursive: true });
  await mkdir(paths.destdir, { recursive: true });
  return { action, repaired };
}

/** Everything prepareWorktree does, with the details the step returns. */
export async function prepareWorktreeDetailed(opts: PrepareOptions): Promise<PrepareDetails> {
  // Validate everything before anything on disk changes.
  const layout = opts.layout ?? workbenchLayout();
  const bare = await requireBare(layout, opts.project);
  const choice = { shared: opts.shared, sharedName: opts.sharedName };
  worktreePaths(layout, opts.project, choice); // checks the slot choice before anything changes
  await setProgress(5, `resolve ${opts.ref} in ${opts.project}`);
  const { commit, refname } = await resolveRef(bare, opts.ref, opts.project);
  const tree = await gitOut(gitArgv.treeOf(bare, commit));
  console.log(`${opts.project}: ${opts.ref} is ${commit}${refname ? ` (${refname})` : ""}, tree ${tree}`);
  const lease = opts.lease ?? Boolean(process.env.WM_FLOW_JOB_ID);
  const { paths } = await leaseWorktree(layout, opts.project, choice, holderFromEnv(), lease);

  return lockWorktree(paths, opts.project, async () => {
    await setProgress(20, `sync ${paths.worktree}`);
    const { action, repaired } = await sync(opts.project, bare, barePaths(layout, opts.project).lock, paths, commit, opts.recreate ?? false);
    await setProgress(100, `${paths.worktree} at ${commit.slice(0, 12)}`);
    return {
      worktree: paths.worktree,
      build_dir: paths.build_dir,
      destdir: paths.destdir,
      commit,
      ref: opts.ref,
      tree,
      project: opts.project,
      slot: paths.slot,
      bare,
      resolved_ref: refname,
      action,
      repaired,
    };
  });
}

/**
 * Sync the worker's warm worktree of `project` (or a shared named one) to `ref` and
 * return where it is and what it holds. See docs/workbench.md.
 */
export async function prepareWorktree(opts: PrepareOptions): Promise<PreparedWorktree & Partial<PrepareDetails>> {
  return prepareWorktreeDetailed(opts);
}
