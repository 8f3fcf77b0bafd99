// Bares: SYSTEM_DIR/bare/<name>.git, the durable working repository of a project.
//
// `git init --bare`, the mirror's objects borrowed through objects/info/alternates (so
// the Bare's own disk use stays tiny), a `mirror` remote whose heads land in
// refs/remotes/mirror/* and whose tags land in refs/tags/*. refs/heads/* belongs to
// developers (b4 series branches, experiments): no fetch ever writes there. A Bare is
// created in a hidden incoming directory and renamed into place once configured and
// fetched; after that it is never deleted, only reconciled (config, alternates) and
// fetched, because it may hold developer branches.

import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../common/atomic.ts";
import { InputError } from "../common/errors.ts";
import { checkName, workbenchLayout, type WorkbenchLayout } from "../common/layout.ts";
import { withLock } from "../common/lock.ts";
import { configValues, exists, git, listRefs, readText } from "./git.ts";
import { mirrorComplete } from "./mirror.ts";
import { alternatesContent, BARE_HEADS_REFSPEC, BARE_MANAGED_PREFIXES, BARE_MARKER, barePaths, EXCLUDE_LINES, gitArgv, mirrorPaths } from "./plan.ts";
import { checkRefSyntax, diffRefs, filterRefs, type RefChanges, type RefMap } from "./refs.ts";

export interface BareResult {
  name: string;
  mirror: string;
  bare: string;
  action: "created" | "fetched";
  repaired: string[];
  /** Every ref in the Bare. */
  refs: number;
  /** Developer branches (refs/heads/*), which fetches never touch. */
  branches: number;
  /** Changes to the refs the fetch manages (refs/remotes/mirror/*, refs/tags/*). */
  changes: RefChanges;
}

/** True when the Bare exists and was completely provisioned. */
export async function bareReady(l: WorkbenchLayout, name: string): Promise<boolean> {
  return exists(barePaths(l, name).marker);
}

/** Bring a Bare's configuration to what it must be; writes only what differs. */
async function reconcile(l: WorkbenchLayout, name: string, dir: string): Promise<void> {
  const alternates = join(dir, "objects", "info", "alternates");
  const wanted = alternatesContent(l, name);
  if ((await readText(alternates)) !== wanted) await writeFileAtomic(alternates, wanted);
  const mirror = mirrorPaths(l, name).dir;
  const url = await configValues(dir, "remote.mirror.url");
  if (url.length !== 1 || url[0] !== mirror) await git(gitArgv.setConfig(dir, "remote.mirror.url", mirror));
  const fetch = await configValues(dir, "remote.mirror.fetch");
  if (fetch.length !== 1 || fetch[0] !== BARE_HEADS_REFSPEC) await git(gitArgv.setConfig(dir, "remote.mirror.fetch", BARE_HEADS_REFSPEC));
  const exclude = join(dir, "info", "exclude");
  const text = (await readText(exclude)) ?? "";
  const missing = EXCLUDE_LINES.filter((line) => !text.split("\n").includes(line));
  if (missing.length) await writeFileAtomic(exclude, `${text}${text && !text.endsWith("\n") ? "\n" : ""}${missing.join("\n")}\n`);
}

async function fetchFromMirror(dir: string): Promise<void> {
  await git(gitArgv.fetchBareHeads(dir));
  await git(gitArgv.fetchBareTags(dir));
}

async function isGitDir(dir: string): Promise<boolean> {
  const res = await git(["git", "-C", dir, "rev-parse", "--is-bare-repository"], { capture: true, quiet: true, allowFailure: true });
  return res.exitCode === 0 && res.stdout.trim() === "true";
}

/**
 * Provision the Bare of `name` next to its mirror, or bring an existing one up to date
 * with the mirror: idempotent, and the same code for init and fetch. Holds the mirror's
 * lock (so the mirror does not move underneath) and then the Bare's.
 */
export async function ensureBare(l: WorkbenchLayout, name: string): Promise<BareResult> {
  checkName("project", name);
  if (!(await mirrorComplete(l, name))) {
    throw new InputError("project", "a source whose mirror was provisioned first (run f/workbench/init)", name);
  }
  const mp = mirrorPaths(l, name);
  const p = barePaths(l, name);
  return withLock(mp.lock, { what: `mirror ${name}` }, () =>
    withLock(p.lock, { what: `bare ${name}` }, async () => {
      const repaired: string[] = [];
      if (await exists(p.incoming)) {
        repaired.push("removed an interrupted Bare creation");
        await rm(p.incoming, { recursive: true, force: true });
      }
      if ((await exists(p.dir)) && !(await isGitDir(p.dir))) {
        // Never delete what may hold developer work: set it aside and say where.
        const aside = `${p.dir}.broken-${Date.now()}`;
        repaired.push(`moved an unreadable Bare aside to ${aside}`);
        await rename(p.dir, aside);
      }
      let before: RefMap = new Map();
      let action: BareResult["action"];
      if (!(await exists(p.dir))) {
        await mkdir(dirname(p.dir), { recursive: true });
        await git(gitArgv.initBare(p.incoming));
        await reconcile(l, name, p.incoming);
        await fetchFromMirror(p.incoming);
        await writeJsonAtomic(join(p.incoming, BARE_MARKER), { mirror: mp.dir });
        await rename(p.incoming, p.dir);
        action = "created";
      } else {
        before = filterRefs(await listRefs(p.dir), BARE_MANAGED_PREFIXES);
        await reconcile(l, name, p.dir);
        await fetchFromMirror(p.dir);
        if (!(await exists(p.marker))) await writeJsonAtomic(p.marker, { mirror: mp.dir });
        action = "fetched";
      }
      const all = await listRefs(p.dir);
      return {
        name,
        mirror: mp.dir,
        bare: p.dir,
        action,
        repaired,
        refs: all.size,
        branches: [...all.keys()].filter((r) => r.startsWith("refs/heads/")).length,
        changes: diffRefs(before, filterRefs(all, BARE_MANAGED_PREFIXES)),
      };
    }),
  );
}

/** Fetch the Bare from its mirror (the same operation as ensureBare; named for readers). */
export const fetchBare = ensureBare;

/** The projects that have a Bare, for messages. */
export async function provisionedProjects(l: WorkbenchLayout): Promise<string[]> {
  try {
    const names = (await readdir(join(l.systemDir, "bare"))).filter((n) => n.endsWith(".git") && !n.startsWith("."));
    const ready: string[] = [];
    for (const n of names.sort()) if (await bareReady(l, n.slice(0, -4))) ready.push(n.slice(0, -4));
    return ready;
  } catch {
    return [];
  }
}

/** Validate `project` and return its Bare, or say which projects exist. */
export async function requireBare(l: WorkbenchLayout, project: string): Promise<string> {
  checkName("project", project);
  if (!(await bareReady(l, project))) {
    const known = await provisionedProjects(l);
    const list = known.length ? `one of ${known.join(", ")}` : "a provisioned project (none is: run f/workbench/init)";
    throw new InputError("project", list, project);
  }
  return barePaths(l, project).dir;
}

/**
 * Keep a developer branch in the Bare: point refs/heads/<branch> at `commit` (a commit
 * made in a worktree is already in the Bare's object store, worktrees share it). Fetches
 * never touch refs/heads, so the branch survives every refresh. Returns the previous
 * commit of the branch, if it existed.
 */
export async function keepBranch(
  project: string,
  branch: string,
  commit: string,
  layout: WorkbenchLayout = workbenchLayout(),
): Promise<{ bare: string; ref: string; commit: string; previous: string | null }> {
  const bare = await requireBare(layout, project);
  const bad = checkRefSyntax(branch);
  const ok = bad === null && (await git(gitArgv.checkBranchName(branch), { capture: true, quiet: true, allowFailure: true })).exitCode === 0;
  if (!ok || branch.startsWith("refs/")) throw new InputError("branch", "a branch name such as b4/<slug> (git check-ref-format --branch)", branch);
  const verified = await git(gitArgv.verifyCommit(bare, commit), { capture: true, quiet: true, allowFailure: true });
  if (verified.exitCode !== 0) throw new InputError("commit", `a commit in the ${project} Bare`, commit);
  const full = verified.stdout.trim();
  return withLock(barePaths(layout, project).lock, { what: `bare ${project}` }, async () => {
    const prev = await git(gitArgv.verifyCommit(bare, `refs/heads/${branch}`), { capture: true, quiet: true, allowFailure: true });
    await git(gitArgv.updateBranch(bare, branch, full));
    return { bare, ref: `refs/heads/${branch}`, commit: full, previous: prev.exitCode === 0 ? prev.stdout.trim() : null };
  });
}

