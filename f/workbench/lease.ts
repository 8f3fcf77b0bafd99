// Worktree leases: which flow run owns a worktree from prepare_worktree to collect.
//
// On a Windmill server `same_worker` reserves nothing: between two steps of one flow the
// worker may run a step of another flow (windmill-worker/src/worker.rs hands a result to
// a background processor and pulls the next queued job). Two builds on one slot would
// then meet in one worktree: B's prepare_worktree re-syncing the tree between A's
// configure and compile. So a build leases its worktree: prepare_worktree takes the first
// worktree of the slot that no live run holds (`<project>`, else `<project>@2`, ...,
// each kept warm), collect and the flow's failure module give it back. A run never waits
// for another run's lease, so two flows sharing one worker cannot deadlock it.
//
// The holder is the flow run (WM_FLOW_JOB_ID). A lease is stale when its run is over:
// locally when the engine that drove it no longer runs (its token is the first of the
// lineage, f/common/proc.ts); on a server when the API says the flow job completed. A
// lease that cannot be judged (the server unreachable) counts as held: another worktree
// is used rather than one that might be in use. Taking over a stale lease first ends
// whatever the dead run left running there (its processes carry its WM_FLOW_JOB_ID), and
// says so in one sentence.

import { readdir, readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { writeJsonAtomic } from "../common/atomic.ts";
import { systemPaths, type WorkbenchLayout } from "../common/layout.ts";
import { withLock } from "../common/lock.ts";
import { describeProcesses, endMarked, isRunning, parseLineage, processToken } from "../common/proc.ts";
import { onWindmill } from "../common/progress.ts";
import { worktreePaths, type SlotChoice, type WorktreePaths } from "./plan.ts";

/** How many worktrees of one project a slot may hold at once (runs leasing more are refused). */
export const MAX_WORKTREES = 8;

export interface LeaseHolder {
  /** The flow run: WM_FLOW_JOB_ID (a script on its own: WM_JOB_ID). */
  job: string;
  /**
   * WM_ROOT_FLOW_JOB_ID, or "". A server runs a chosen branch as a job of its own (its
   * WM_FLOW_JOB_ID differs from the flow's) under the same root, so a lease taken in a
   * branch is the flow's too.
   */
  root: string;
  /** What runs it, for messages: WM_FLOW_PATH. */
  flow: string;
  /**
   * What drives the run locally (`<pid>.<start>`): the engine that started the step (the
   * last of the lineage the step inherited), or the process itself for a script run on
   * its own; null on a server.
   */
  driver: string | null;
  host: string;
  since: string;
}

type Env = Record<string, string | undefined>;

/** Who this step's run is, from its job environment. */
export function holderFromEnv(env: Env = process.env, now: Date = new Date()): LeaseHolder {
  const self = processToken();
  const job = env.WM_FLOW_JOB_ID || env.WM_JOB_ID || `process-${self}`;
  // The lineage a step inherited ends with the engine that started it (this process adds
  // itself once it starts a command of its own, so it is left out).
  const engine = parseLineage(env.KDEVFLOW_LINEAGE).filter((t) => t !== self).at(-1);
  const driver = onWindmill(env) ? null : env.WM_FLOW_JOB_ID && engine ? engine : self;
  return { job, root: env.WM_ROOT_FLOW_JOB_ID || "", flow: env.WM_FLOW_PATH || env.WM_JOB_PATH || "a script", driver, host: hostname(), since: now.toISOString() };
}

/** The same flow run: the same job, or the same root (a branch of it on a server). */
export function sameRun(a: Pick<LeaseHolder, "job" | "root">, b: Pick<LeaseHolder, "job" | "root">): boolean {
  return a.job === b.job || (a.root !== "" && a.root === b.root);
}

export type LeaseVerdict = "free" | "mine" | "held" | "stale";

/**
 * Whether `me` may take a worktree whose lease is `lease`. Pure given the checks:
 * `running(token)` says whether a driver still runs, `jobOver(job)` whether the server
 * says the job completed (null: cannot tell).
 */
export function judgeLease(lease: LeaseHolder | null, me: LeaseHolder, running: (token: string) => boolean, jobOver: (job: string) => boolean | null): LeaseVerdict {
  if (!lease) return "free";
  if (sameRun(lease, me)) return "mine";
  if (lease.host !== me.host) return "held";
  if (lease.driver) return running(lease.driver) ? "held" : "stale";
  return jobOver(lease.job) === true ? "stale" : "held";
}

function tokenRunning(token: string): boolean {
  const [pid, start] = token.split(".").map(Number);
  return Number.isInteger(pid) && isRunning(pid!, start);
}

async function readLease(path: string): Promise<LeaseHolder | null> {
  try {
    const v = JSON.parse(await readFile(path, "utf8")) as LeaseHolder;
    return typeof v?.job === "string" ? v : null;
  } catch {
    return null;
  }
}

/**
 * Whether the server says `job` completed. The flows' steps run with WM_TOKEN, WM_BASE_URL
 * and WM_WORKSPACE; windmill-client's JobService.getJob reads /w/{workspace}/jobs_u/get/{id},
 * whose `type` is CompletedJob once the job is over. Null when it cannot tell.
 */
async function serverJobOver(job: string, env: Env = process.env): Promise<boolean | null> {
  if (!onWindmill(env) || !env.WM_WORKSPACE) return null;
  try {
    const wm = await import("windmill-client");
    wm.setClient(env.WM_TOKEN, env.WM_BASE_URL);
    const got = (await wm.JobService.getJob({ workspace: env.WM_WORKSPACE, id: job })) as { type?: string };
    return got.type === "CompletedJob";
  } catch {
    return null;
  }
}

/** End what a dead run left running; one sentence for the log. */
async function endRun(lease: LeaseHolder): Promise<string> {
  const { found, left } = await endMarked({ name: "WM_FLOW_JOB_ID", value: lease.job, match: "exact" });
  const who = `the run ${lease.job} of ${lease.flow} (since ${lease.since})`;
  if (found.length === 0) return `${who} is over and left nothing running`;
  let s = `${who} is over but ${describeProcesses(found)} it started were still running; ended them`;
  if (left.length) s += `, except ${describeProcesses(left)} that would not end`;
  return s;
}

export interface Leased {
  paths: WorktreePaths;
  index: number;
  /** Set when a stale lease was taken over: what was found and done. */
  takeover: string | null;
}

/**
 * Lease the first worktree of `project` in the slot that no live run holds. The choice is
 * made under a short per-project lock, so two runs never pick the same one. With `write`
 * off (a script run on its own, outside any flow, holds nothing past its own step) the
 * worktree is chosen the same way but no lease is written.
 */
export async function leaseWorktree(layout: WorkbenchLayout, project: string, choice: SlotChoice, me: LeaseHolder = holderFromEnv(), write = true): Promise<Leased> {
  const first = worktreePaths(layout, project, choice, 1);
  const lock = join(systemPaths.locks(layout), `lease-${first.slot}-${project}.lock`);
  return withLock(lock, { what: `the ${project} worktrees of slot ${first.slot}` }, async () => {
    const held: string[] = [];
    for (let index = 1; index <= MAX_WORKTREES; index++) {
      const paths = worktreePaths(layout, project, choice, index);
      const lease = await readLease(paths.lease);
      const verdict = judgeLease(lease, me, tokenRunning, () => null);
      const over = verdict === "held" && lease && !lease.driver ? await serverJobOver(lease.job) : null;
      if (verdict === "held" && over !== true) {
        held.push(`${paths.worktree} (${lease!.flow}, run ${lease!.job})`);
        continue;
      }
      const takeover = verdict === "stale" || over === true ? await endRun(lease!) : null;
      if (takeover) console.log(`lease: taking over ${paths.worktree}: ${takeover}`);
      if (write) await writeJsonAtomic(paths.lease, { ...me, since: verdict === "mine" ? lease!.since : me.since });
      else if (takeover) await rm(paths.lease, { force: true });
      if (held.length) console.log(`lease: ${held.join(", ")} in use by other runs; building in ${paths.worktree}`);
      return { paths, index, takeover };
    }
    throw new Error(`every ${project} worktree of slot ${first.slot} is leased by a run that is still going (${held.join("; ")}); at most ${MAX_WORKTREES} build at once in one slot`);
  });
}

/** Give back every worktree lease this run holds (collect, the failure module). Returns the worktrees released. */
export async function releaseLeases(layout: WorkbenchLayout, me: Pick<LeaseHolder, "job" | "root">): Promise<string[]> {
  const dir = systemPaths.locks(layout);
  const names = await readdir(dir).catch(() => [] as string[]);
  const released: string[] = [];
  for (const name of names.filter((n) => n.startsWith("lease-") && n.endsWith(".json"))) {
    const path = join(dir, name);
    const lease = await readLease(path);
    if (!lease || !sameRun({ job: lease.job, root: lease.root ?? "" }, me)) continue;
    await rm(path, { force: true });
    released.push(name.slice("lease-".length, -".json".length));
  }
  return released;
}
