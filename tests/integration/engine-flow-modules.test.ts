// `type: flow` modules: a flow runs another flow of the workspace as one step. Every test
// runs the real ./kdevflow launcher on the fixture flows f/engine/parent (and friends),
// which call f/engine/child; each step is a real Bun process that records that it ran.

import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kdevflow, resultOf, tempDir } from "./engine-helpers.ts";

const scratch = tempDir("kdevflow-engine-subflow-");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface ChildResult {
  flow_input: Record<string, unknown>;
  env: Record<string, string | null>;
}

// A flow module's job gets its evaluated input transforms as its arguments, nothing more
// (backend windmill-worker/src/worker_flow.rs, push_next_flow_job: transform_input, then
// push with those args); no form default is filled and nothing is checked.
describe("a flow module (worker_flow.rs, push_next_flow_job)", () => {
  it("runs the sub-flow with exactly its evaluated transforms as flow_input; its result is results.<id>; the shared folder is the parent's", async () => {
    const run = await kdevflow(["run", "f/engine/parent", "--set", "word=yo"]);
    expect(run.code, run.stderr).toBe(0);
    const out = resultOf(run) as { child: ChildResult; note: string; parent_job: string };
    // times: the parent has no value, so the transform gives undefined, which arrives as
    // null; the child's default (2) is not filled, nor its group opts.mode default.
    expect(out.child.flow_input).toEqual({ word: "yo", times: null, fail: false, extra: { any: [1, 2], keys: true } });
    // The child's step wrote ./shared/note.txt; the parent's next step read it.
    expect(out.note).toBe("yo xnull");
    expect(run.ran).toEqual({ args: 2, share_write: 1, child_out: 1, share_read: 1, parent_out: 1 });
    expect(run.stderr).toContain("==> flow f/engine/child");
    expect(run.stderr).toContain("<== step explode: skipped (skip_if is true)");
  });

  // windmill-common/src/variables.rs (WM_ROOT_FLOW_JOB_ID is the innermost root flow);
  // worker_flow.rs gives a flow module's job no flow_innermost_root_job, so its steps' root is the sub-flow itself.
  it("the sub-flow's jobs: WM_FLOW_PATH the sub-flow, WM_FLOW_JOB_ID and WM_ROOT_FLOW_JOB_ID its own job, WM_ROOT_JOB_ID the top run", async () => {
    const run = await kdevflow(["run", "f/engine/parent"]);
    expect(run.code, run.stderr).toBe(0);
    const out = resultOf(run) as { child: ChildResult; parent_job: string };
    const env = out.child.env;
    expect(env.WM_FLOW_PATH).toBe("f/engine/child");
    expect(env.WM_FLOW_JOB_ID).not.toBe(out.parent_job);
    expect(env.WM_ROOT_FLOW_JOB_ID).toBe(env.WM_FLOW_JOB_ID);
    expect(env.WM_ROOT_JOB_ID).toBe(out.parent_job);
  });

  it("a given input reaches the sub-flow as given", async () => {
    const run = await kdevflow(["run", "f/engine/parent", "--set", "times=5"]);
    expect(run.code, run.stderr).toBe(0);
    expect((resultOf(run) as { child: ChildResult }).child.flow_input).toMatchObject({ word: "hi", times: 5 });
  });

  it("nothing checks a sub-flow's inputs against its form: a value the form would refuse reaches its steps", async () => {
    const run = await kdevflow(["run", "f/engine/parent", "--set", 'times="many"']);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toMatchObject({ child: { flow_input: { times: "many" } }, note: "hi xmany" });
  });

  // The failed sub-flow's result is its failed step's {error}; the parent's failure module reads error from it
  // (windmill-jseval/src/lib.rs: error = previous_result.error); step_id is the step that threw (bun_executor.rs).
  it("a failing sub-flow fails the parent; the parent's failure module sees the error of the sub-flow's step that failed", async () => {
    const run = await kdevflow(["run", "f/engine/parent", "--set", "fail=true"]);
    expect(run.code).toBe(1);
    const out = resultOf(run) as { error: Record<string, unknown> };
    expect(out.error).toEqual({ message: "the child broke", name: "Error", stack: expect.stringContaining("the child broke"), step_id: "explode" });
    // The child's steps before the failure ran; nothing after it, in the child or the parent.
    expect(run.ran).toEqual({ args: 2, share_write: 1, boom: 1, failure: 1 });
    expect(run.stderr).toContain("kdevflow: step explode failed: Error: the child broke");
  });

  it("retry runs the whole sub-flow again; a skipped flow module passes the previous result on", async () => {
    const run = await kdevflow(["run", "f/engine/subflow_retry"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.ran).toEqual({ "flaky-subflow": 2 });
    expect(run.stderr).toContain("<== step again: ok in");
    expect(run.stderr).toContain("(try 2 of 2)");
    expect(run.stderr).toContain("<== step skipped: skipped (skip_if is true)");
    expect(resultOf(run)).toEqual({ tries: 2 });
  });

  it("a timeout on the flow module stops the sub-flow's running step and everything it started", async () => {
    const pidFile = join(scratch, "sleep.pid");
    const run = await kdevflow(["run", "f/engine/subflow_timeout", "--set", `pid_file=${pidFile}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("kdevflow: step slow failed: TimeoutError: step slow (flow f/engine/slow_child) timed out after 1 s and was killed");
    expect(run.ran).toEqual({ sleeper: 1 });
    const pid = Number(readFileSync(pidFile, "utf8"));
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
      alive = stat !== "" && !/\) [ZX] /.test(stat);
      if (alive) await new Promise((r) => setTimeout(r, 100));
    }
    expect(alive, `sleep ${pid} still running`).toBe(false);
  });

  it("a sub-flow's own failure module runs first; its result is the failed sub-flow's, and so the parent's", async () => {
    const run = await kdevflow(["run", "f/engine/sub_failure"]);
    expect(run.code).toBe(1);
    expect(resultOf(run)).toEqual({ step_id: "explode", message: "it broke", name: "Error", ok_result: "fine" });
    expect(run.ran).toEqual({ ok: 1, boom: 1, failure: 1 });
    expect(run.stderr).toContain("kdevflow: step explode failed: Error: it broke");
  });

  it("a sub-flow whose failure module recovers makes the flow module succeed, with that module's result", async () => {
    const run = await kdevflow(["run", "f/engine/sub_failure", "--set", "recover=true"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ step_id: "explode", message: "it broke", name: "Error", ok_result: "fine", recover: true });
  });

  it("a same_worker sub-flow under a parent without same_worker gets a shared folder of its own", async () => {
    const run = await kdevflow(["run", "f/engine/solo"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toMatchObject({ read: { note: "from the solo parent", shared_is_link: true } });
  });

  it("a flow that runs itself is refused before anything runs", async () => {
    const run = await kdevflow(["run", "f/engine/loop"]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe("kdevflow: f/engine/loop step again: expected a flow that does not run itself (f/engine/loop -> f/engine/loop).");
    expect(run.ran).toEqual({});
  });
});
