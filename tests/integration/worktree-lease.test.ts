// Worktree leases on one worker slot, with real kernel builds: two runs of f/kernel/build
// whose steps interleave as a Windmill server may order them (same_worker reserves
// nothing: windmill-worker/src/worker.rs may run another flow's step between two steps of
// one flow), with no engine and so no slot lock. Each run leases its own worktree from
// prepare_worktree to collect (f/workbench/lease.ts), neither waits for the other, and
// both produce the manifest of what they were asked to build.

import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workbenchLayout } from "../../f/common/layout.ts";
import { KernelManifest } from "../../f/common/manifest.ts";
import { capture } from "../../f/common/run.ts";
import { holderFromEnv, leaseWorktree, releaseLeases } from "../../f/workbench/lease.ts";
import { linuxUpstream, type UpstreamFixture } from "../harness/fixtures.ts";
import { bzImageRelease, initLinuxWorkbench, kernelTestEnv, TEST_KERNEL_INPUTS } from "../harness/kernel.ts";
import { FlowStepper } from "../harness/stepper.ts";

const REPO = resolve(import.meta.dirname, "../..");
const BUILD_TIMEOUT = 90 * 60_000;

let upstream: UpstreamFixture;
let wb: string;
let env: Record<string, string>;
const saved = { ...process.env };

/** A developer branch in the Bare with one source file changed (git plumbing, no worktree). */
async function branchWithOneChange(bare: string, base: string): Promise<void> {
  const g = (args: string[], extra: Record<string, string> = {}) => capture(["git", "-C", bare, ...args], { env: extra });
  const blob = await g(["rev-parse", `${base}:init/version.c`]);
  const text = await capture(["git", "-C", bare, "cat-file", "blob", blob]);
  const dir = await mkdtemp(join(tmpdir(), "kdevflow-lease-src-"));
  try {
    const file = join(dir, "version.c");
    await writeFile(file, `${text}\n/* kdevflow: a second ref for the lease test */\n`);
    const newBlob = await g(["hash-object", "-w", file]);
    const index = { GIT_INDEX_FILE: join(dir, "index") };
    await g(["read-tree", base], index);
    await g(["update-index", "--cacheinfo", `100644,${newBlob},init/version.c`], index);
    const tree = await g(["write-tree"], index);
    const who = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
    const commit = await g(["commit-tree", tree, "-p", base, "-m", "init: a second ref"], who);
    await g(["update-ref", "refs/heads/lease/second", commit]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  upstream = await linuxUpstream();
  wb = await mkdtemp(join(tmpdir(), "kdevflow-lease-"));
  env = await kernelTestEnv(wb);
  await initLinuxWorkbench(wb, upstream, env);
  const bare = join(wb, "system", "bare", "linux.git");
  await branchWithOneChange(bare, await capture(["git", "-C", bare, "rev-parse", `${upstream.tag}^{commit}`]));
  Object.assign(process.env, env);
}, 600_000);

afterAll(async () => {
  process.env = saved;
  if (wb) await rm(wb, { recursive: true, force: true });
});

describe("two kernel builds on one slot, steps alternating as a server may run them", () => {
  it("each run leases its own worktree, and both build the right kernel", { timeout: BUILD_TIMEOUT }, async () => {
    const a = new FlowStepper(REPO, "f/kernel/build", { git_ref: upstream.tag, ...TEST_KERNEL_INPUTS });
    const b = new FlowStepper(REPO, "f/kernel/build", { git_ref: "lease/second", ...TEST_KERNEL_INPUTS });
    // A, B, A, B, ...: B's prepare_worktree runs between A's prepare and configure, and
    // every later step of one run has a step of the other before it.
    const order: string[] = [];
    while (!a.finished || !b.finished) {
      for (const run of [a, b]) {
        if (run.finished) continue;
        order.push(`${run === a ? "A" : "B"}:${run.nextId}`);
        await run.step();
      }
    }
    expect(order.slice(0, 6)).toEqual(["A:check_inputs", "B:check_inputs", "A:prepare_worktree", "B:prepare_worktree", "A:apply_series", "B:apply_series"]);

    const wtA = a.results.prepare_worktree as { worktree: string };
    const wtB = b.results.prepare_worktree as { worktree: string };
    expect(wtA.worktree).toBe(join(wb, "workers", "0", "linux"));
    expect(wtB.worktree).toBe(join(wb, "workers", "0", "linux@2"));

    const ma = KernelManifest.parse(a.results.collect);
    const mb = KernelManifest.parse(b.results.collect);
    expect(ma.label).toBe("vanilla");
    expect(mb.label).toBe("lease-second");
    expect(ma.commit).toBe(await capture(["git", "-C", join(wb, "system", "bare", "linux.git"), "rev-parse", `${upstream.tag}^{commit}`]));
    expect(mb.commit).not.toBe(ma.commit);
    expect(ma.identity).not.toBe(mb.identity);
    // Each image says the release its manifest names: neither build saw the other's tree.
    expect(bzImageRelease(readFileSync(ma.image))).toBe(ma.kernelrelease);
    expect(bzImageRelease(readFileSync(mb.image))).toBe(mb.kernelrelease);
    expect(JSON.parse(readFileSync(join(wtA.worktree, "build", "result.json"), "utf8"))).toEqual(ma);
    expect(JSON.parse(readFileSync(join(wtB.worktree, "build", "result.json"), "utf8"))).toEqual(mb);
    // collect gave both leases back.
    expect((await readdir(join(wb, "system", "locks"))).filter((n) => n.startsWith("lease-") && n.endsWith(".json"))).toEqual([]);
  });

  it("the next run takes the first worktree again, warm", { timeout: BUILD_TIMEOUT }, async () => {
    const c = new FlowStepper(REPO, "f/kernel/build", { git_ref: upstream.tag, ...TEST_KERNEL_INPUTS });
    while (!c.finished) await c.step();
    expect((c.results.prepare_worktree as { worktree: string }).worktree).toBe(join(wb, "workers", "0", "linux"));
    expect(KernelManifest.parse(c.results.collect).reused).toBe(true);
  });
});

describe("leases", () => {
  const layout = () => workbenchLayout();

  it("a lease whose engine is gone is taken over, saying so; one of a live run is passed by", async () => {
    const dead = { ...holderFromEnv(), job: "dead-run", root: "", flow: "f/kernel/build", driver: "999999999.1" };
    const live = { ...holderFromEnv(), job: "live-run", root: "", flow: "f/qemu/build", driver: `${process.pid}.0` };
    const { writeJsonAtomic } = await import("../../f/common/atomic.ts");
    const { worktreePaths } = await import("../../f/workbench/plan.ts");
    await writeJsonAtomic(worktreePaths(layout(), "linux", {}, 1).lease, dead);
    const me = { ...holderFromEnv(), job: "me", root: "" };
    const got = await leaseWorktree(layout(), "linux", {}, me);
    expect(got.index).toBe(1);
    expect(got.takeover).toMatch(/^the run dead-run of f\/kernel\/build \(since .*\) is over and left nothing running$/);
    await releaseLeases(layout(), me);
    // A live holder (this process counts as its driver) is never waited for: the next worktree is used.
    const { procStat } = await import("../../f/common/proc.ts");
    const liveNow = { ...live, driver: `${process.pid}.${procStat(process.pid)!.start}` };
    await writeJsonAtomic(worktreePaths(layout(), "linux", {}, 1).lease, liveNow);
    const other = await leaseWorktree(layout(), "linux", {}, me);
    expect(other.index).toBe(2);
    expect(other.paths.worktree).toBe(join(wb, "workers", "0", "linux@2"));
    expect(await releaseLeases(layout(), me)).toEqual(["0-linux@2"]);
    expect(await releaseLeases(layout(), { job: "live-run", root: "" })).toEqual(["0-linux"]);
    expect(existsSync(worktreePaths(layout(), "linux", {}, 1).lease)).toBe(false);
  });
});
