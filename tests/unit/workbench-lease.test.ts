// The lease decision (f/workbench/lease.ts), pure: who may take a worktree another run
// leased. The file-system and process side is tests/integration/worktree-lease.test.ts.

import { describe, expect, it } from "vitest";
import { holderFromEnv, judgeLease, sameRun, type LeaseHolder } from "../../f/workbench/lease.ts";
import { worktreeName, worktreePaths } from "../../f/workbench/plan.ts";

const holder = (over: Partial<LeaseHolder>): LeaseHolder => ({ job: "j", root: "", flow: "f/kernel/build", driver: "100.5", host: "h", since: "2026-12-01T00:00:00Z", ...over });
const running = (alive: string[]) => (token: string) => alive.includes(token);

describe("judgeLease", () => {
  const me = holder({ job: "me", driver: "200.7" });
  it("a worktree nobody leased is free", () => {
    expect(judgeLease(null, me, running([]), () => null)).toBe("free");
  });
  it("a lease of this run (a retried prepare) is mine; so is one of its branch on a server (same root)", () => {
    expect(judgeLease(holder({ job: "me" }), me, running([]), () => null)).toBe("mine");
    expect(judgeLease(holder({ job: "branch", root: "r" }), { ...me, root: "r" }, running([]), () => null)).toBe("mine");
  });
  it("a lease whose local engine runs is held, one whose engine is gone is stale", () => {
    expect(judgeLease(holder({}), me, running(["100.5"]), () => null)).toBe("held");
    expect(judgeLease(holder({}), me, running([]), () => null)).toBe("stale");
  });
  it("on a server a lease is stale only when the job is known to be over; unknown counts as held", () => {
    const server = holder({ driver: null });
    expect(judgeLease(server, me, running([]), () => true)).toBe("stale");
    expect(judgeLease(server, me, running([]), () => false)).toBe("held");
    expect(judgeLease(server, me, running([]), () => null)).toBe("held");
  });
  it("a lease of another host is never judged from here", () => {
    expect(judgeLease(holder({ host: "other" }), me, running([]), () => true)).toBe("held");
  });
});

describe("holderFromEnv", () => {
  it("names the flow run, its root and, locally, the engine that drives it (the last of the lineage the step inherited)", () => {
    const h = holderFromEnv({ WM_FLOW_JOB_ID: "f1", WM_ROOT_FLOW_JOB_ID: "r1", WM_FLOW_PATH: "f/qemu/build", KDEVFLOW_LINEAGE: "42.7,43.8" });
    expect(h).toMatchObject({ job: "f1", root: "r1", flow: "f/qemu/build", driver: "43.8" });
  });
  it("a script run on its own is driven by itself, whatever it inherited", () => {
    expect(holderFromEnv({ WM_JOB_ID: "j", KDEVFLOW_LINEAGE: "42.7" }).driver).toBe(`${process.pid}.${holderFromEnv({}).driver!.split(".")[1]}`);
  });
  it("on a server (a token and a base URL) has no driver: the job's state decides", () => {
    expect(holderFromEnv({ WM_FLOW_JOB_ID: "f1", WM_JOB_ID: "j", WM_TOKEN: "t", WM_BASE_URL: "http://wm" }).driver).toBeNull();
  });
  it("a script run on its own is its own run", () => {
    expect(holderFromEnv({ WM_JOB_ID: "j2" }).job).toBe("j2");
  });
});

describe("worktree names", () => {
  const layout = { root: "/wb", systemDir: "/wb/system", workersDir: "/wb/workers", workerIndex: 0, slotDir: "/wb/workers/0" };
  it("keeps the first worktree's path and names the others <project>@<n>, each with its own lease and lock", () => {
    expect(worktreeName("linux", 1)).toBe("linux");
    expect(worktreeName("linux", 3)).toBe("linux@3");
    const p = worktreePaths(layout, "qemu", {}, 2);
    expect(p).toMatchObject({ worktree: "/wb/workers/0/qemu@2", build_dir: "/wb/workers/0/qemu@2/build", lease: "/wb/system/locks/lease-0-qemu@2.json", lock: "/wb/system/locks/worktree-0-qemu@2.lock" });
  });
  it("sameRun: the same job, or the same non-empty root", () => {
    expect(sameRun({ job: "a", root: "" }, { job: "a", root: "" })).toBe(true);
    expect(sameRun({ job: "a", root: "" }, { job: "b", root: "" })).toBe(false);
    expect(sameRun({ job: "a", root: "r" }, { job: "b", root: "r" })).toBe(true);
  });
});
