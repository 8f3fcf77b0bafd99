// Thin effectful helpers the Workbench modules share: run a planned git argv, read a
// repository's refs, test for files. Decisions live in plan.ts and refs.ts.

import { access, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { capture, run, type RunOptions, type RunResult } from "../common/run.ts";
import { GIT_ENV, gitArgv } from "./plan.ts";
import { parseRefList, type RefMap } from "./refs.ts";

export function git(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(argv, { ...opts, env: { ...GIT_ENV, ...opts.env } });
}

export function gitOut(argv: readonly string[], opts: Omit<RunOptions, "capture" | "quiet"> = {}): Promise<string> {
  return capture(argv, { ...opts, env: { ...GIT_ENV, ...opts.env } });
}

/** Every ref of a repository, annotated tags peeled to their commit. */
export async function listRefs(dir: string): Promise<RefMap> {
  return parseRefList(await gitOut(gitArgv.listRefs(dir)));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null;
  }
}

/** The values of a config key in one repository ([] when unset). */
export async function configValues(dir: string, key: string): Promise<string[]> {
  const res = await git(gitArgv.getConfig(dir, key), { capture: true, quiet: true, allowFailure: true });
  return res.exitCode === 0 ? res.stdout.split("\n").filter(Boolean) : [];
}

/**
 * Read files of one commit of a repository without a worktree (`git ls-tree`,
 * `git cat-file`), so inputs can be checked against the tree before anything on disk
 * changes.
 */
export function commitReader(dir: string, commit: string): { list(path: string): Promise<string[]>; read(path: string): Promise<string | null> } {
  return {
    async list(path: string) {
      const res = await git(["git", "-C", dir, "ls-tree", "--name-only", commit, "--", `${path.replace(/\/+$/, "")}/`], { capture: true, quiet: true, allowFailure: true });
      if (res.exitCode !== 0) return [];
      return res.stdout
        .split("\n")
        .filter(Boolean)
        .map((p) => p.slice(p.lastIndexOf("/") + 1));
    },
    async read(path: string) {
      const res = await git(["git", "-C", dir, "cat-file", "blob", `${commit}:${path}`], { capture: true, quiet: true, allowFailure: true });
      return res.exitCode === 0 ? res.stdout : null;
    },
  };
}

/** The same reading interface over a checked-out tree. */
export function treeReader(root: string): { list(path: string): Promise<string[]>; read(path: string): Promise<string | null> } {
  return {
    async list(path: string) {
      try {
        return await readdir(join(root, path));
      } catch {
        return [];
      }
    },
    read: (path: string) => readText(join(root, path)),
  };
}
