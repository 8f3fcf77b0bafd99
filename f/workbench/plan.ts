// The Workbench's decisions, as pure functions: where each thing lives on disk, which
// lock guards it, and the git command lines that create, refresh and sync it. The
// effectful modules (mirror.ts, bare.ts, worktree.ts) run exactly these.

import { join } from "node:path";
import { InputError } from "../common/errors.ts";
import { checkName, systemPaths, type WorkbenchLayout } from "../common/layout.ts";

/** Written into a mirror only after its clone completed; its absence means "redo". */
export const MIRROR_MARKER = "kdevflow-mirror.json";
/** Written into a Bare once it is configured and fetched. */
export const BARE_MARKER = "kdevflow-bare.json";

/** The refs a Bare's fetch manages; everything else (refs/heads/*) is the developers'. */
export const BARE_MANAGED_PREFIXES = ["refs/remotes/mirror/", "refs/tags/"] as const;
export const BARE_HEADS_REFSPEC = "+refs/heads/*:refs/remotes/mirror/*";
export const BARE_TAGS_REFSPEC = "+refs/tags/*:refs/tags/*";
/** Lines the Bare's info/exclude gets so build/ and destdir/ never show as untracked. */
export const EXCLUDE_LINES = ["/build/", "/destdir/"];

export interface MirrorPaths {
  dir: string;
  /** Where a clone happens before it is complete and renamed into place. */
  incoming: string;
  marker: string;
  lock: string;
}

export function mirrorPaths(l: WorkbenchLayout, name: string): MirrorPaths {
  const dir = systemPaths.mirror(l, name);
  return {
    dir,
    incoming: join(l.systemDir, "mirror", `.${name}.git.incoming`),
    marker: join(dir, MIRROR_MARKER),
    lock: join(systemPaths.locks(l), `mirror-${name}.lock`),
  };
}

export interface BarePaths {
  dir: string;
  incoming: string;
  marker: string;
  lock: string;
  alternates: string;
  exclude: string;
}

export function barePaths(l: WorkbenchLayout, name: string): BarePaths {
  const dir = systemPaths.bare(l, name);
  return {
    dir,
    incoming: join(l.systemDir, "bare", `.${name}.git.incoming`),
    marker: join(dir, BARE_MARKER),
    lock: join(systemPaths.locks(l), `bare-${name}.lock`),
    alternates: join(dir, "objects", "info", "alternates"),
    exclude: join(dir, "info", "exclude"),
  };
}

/** The line objects/info/alternates holds: the mirror's object directory. */
export function alternatesContent(l: WorkbenchLayout, name: string): string {
  return `${join(systemPaths.mirror(l, name), "objects")}\n`;
}

export interface SlotChoice {
  shared?: boolean;
  sharedName?: string;
}

/**
 * The slot a worktree lives in: the worker's own (its WORKER_INDEX), or with `shared`
 * a named shared slot (`shared` unless `sharedName` says otherwise). Slot names that
 * are not numbers cannot collide with a worker's slot.
 */
export function slotName(l: WorkbenchLayout, choice: SlotChoice): string {
  if (!choice.shared) {
    if (choice.sharedName !== undefined && choice.sharedName !== "") {
      throw new InputError("sharedName", "no shared name unless shared is true", choice.sharedName);
    }
    return String(l.workerIndex);
  }
  const name = choice.sharedName === undefined || choice.sharedName === "" ? "shared" : choice.sharedName;
  checkName("sharedName", name, 40);
  if (/^[0-9]+$/.test(name)) throw new InputError("sharedName", "a name that is not a number (numbers are worker slots)", name);
  return name;
}

export interface WorktreePaths {
  slot: string;
  worktree: string;
  build_dir: string;
  destdir: string;
  /**
   * An empty directory `git worktree add --no-checkout` uses when re-adopting a tree:
   * `<slot>/.adopt/<project>`, so git names the new admin directory after the project
   * (`worktrees/<project>`), as it named the one that was lost.
   */
  adopt: string;
  lock: string;
  /** Which flow run holds this worktree from prepare to collect (lease.ts). */
  lease: string;
}

/**
 * The worktrees of a project in a slot: the first is `<slot>/<project>`; when a flow run
 * holds it and another run of the same slot needs one, the next free is
 * `<slot>/<project>@2`, `@3`, ... each kept warm like the first.
 */
export function worktreeName(project: string, index: number): string {
  return index <= 1 ? project : `${project}@${index}`;
}

export function worktreePaths(l: WorkbenchLayout, project: string, choice: SlotChoice, index = 1): WorktreePaths {
  const slot = slotName(l, choice);
  const slotDir = join(l.workersDir, slot);
  const name = worktreeName(project, index);
  const worktree = join(slotDir, name);
  return {
    slot,
    worktree,
    build_dir: join(worktree, "build"),
    destdir: join(worktree, "destdir"),
    adopt: join(slotDir, ".adopt", name),
    lock: join(systemPaths.locks(l), `worktree-${slot}-${name}.lock`),
    lease: join(systemPaths.locks(l), `lease-${slot}-${name}.json`),
  };
}

// ---- command lines -------------------------------------------------------------

export const gitArgv = {
  /** Reads the remote without writing anything: proves a URL is a git repository. */
  lsRemote: (url: string) => ["git", "ls-remote", url, "HEAD"],
  cloneMirror: (url: string, dest: string) => ["git", "clone", "--mirror", "--quiet", url, dest],
  /** Keep unreachable objects packed in a mirror: a Bare may still reference them. */
  mirrorKeepObjects: (dir: string) => ["git", "-C", dir, "config", "gc.pruneExpire", "never"],
  setOriginUrl: (dir: string, url: string) => ["git", "-C", dir, "config", "remote.origin.url", url],
  refreshMirror: (dir: string) => ["git", "-C", dir, "fetch", "--prune", "--tags", "--quiet", "origin"],
  listRefs: (dir: string) => ["git", "-C", dir, "for-each-ref", "--format=%(objectname) %(*objectname) %(refname)"],
  initBare: (dir: string) => ["git", "init", "--bare", "--quiet", dir],
  getConfig: (dir: string, key: string) => ["git", "-C", dir, "config", "--get-all", key],
  setConfig: (dir: string, key: string, value: string) => ["git", "-C", dir, "config", "--replace-all", key, value],
  /** Upstream branches into refs/remotes/mirror/*, pruning the ones upstream deleted. */
  fetchBareHeads: (dir: string) => ["git", "-C", dir, "fetch", "--prune", "--no-tags", "--quiet", "mirror"],
  /** Upstream tags, moved when upstream moved them, never pruned (a developer's stay). */
  fetchBareTags: (dir: string) => ["git", "-C", dir, "fetch", "--no-tags", "--quiet", "mirror", BARE_TAGS_REFSPEC],
  verifyCommit: (dir: string, rev: string) => ["git", "-C", dir, "rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`],
  treeOf: (dir: string, commit: string) => ["git", "-C", dir, "rev-parse", "--verify", `${commit}^{tree}`],
  updateBranch: (dir: string, branch: string, commit: string) => ["git", "-C", dir, "update-ref", "-m", "kdevflow: keepBranch", `refs/heads/${branch}`, commit],
  checkBranchName: (branch: string) => ["git", "check-ref-format", "--branch", branch],
  worktreePrune: (bare: string) => ["git", "-C", bare, "worktree", "prune"],
  /** Forced twice: the path is ours (we hold its lock) even if git still lists it as a locked, missing worktree. */
  worktreeAdd: (bare: string, path: string, commit: string) => ["git", "-C", bare, "worktree", "add", "--force", "--force", "--detach", "--quiet", path, commit],
  worktreeAddNoCheckout: (bare: string, path: string, commit: string) => ["git", "-C", bare, "worktree", "add", "--force", "--force", "--detach", "--no-checkout", "--quiet", path, commit],
  worktreeRepair: (bare: string, path: string) => ["git", "-C", bare, "worktree", "repair", path],
  worktreeRemove: (bare: string, path: string) => ["git", "-C", bare, "worktree", "remove", "--force", "--force", path],
  readTree: (wt: string) => ["git", "-C", wt, "read-tree", "HEAD"],
  /** Re-stat files whose content is unchanged so checkout does not rewrite them. */
  refreshIndex: (wt: string) => ["git", "-C", wt, "update-index", "-q", "--refresh"],
  checkout: (wt: string, commit: string) => ["git", "-C", wt, "checkout", "--force", "--detach", "--quiet", commit],
  head: (wt: string) => ["git", "-C", wt, "rev-parse", "--verify", "HEAD"],
};

/** Environment for every git command: never prompt for credentials, never page. */
export const GIT_ENV = { GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat" } as const;

/** Parse a worktree's `.git` file ("gitdir: <admin dir>"); null if it is not one. */
export function parseGitFile(text: string): string | null {
  const m = /^gitdir: (.+)$/m.exec(text);
  return m ? m[1]!.trim() : null;
}
