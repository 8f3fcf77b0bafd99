// Thin effectful helpers the Workbench modules share: run a planned git argv, read a
// repository's refs, test for files. Decisions live in plan.ts and refs.ts.

import { access, readFile } from "node:fs/promises";
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
