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
  word: string;
  times: number;
  mode: string;
  extra: unknown;
  env: Record<string, string | null>;
}

describe("a flow module", () => {
  it("runs the sub-flow with its defaults filled; the sub-flow's result is results.<id>; the shared folder is the parent's", async () => {
    const run = await kdevflow(["run", "f/engine/parent", "--set", "word=yo"]);
    expect(run.code, run.stderr).toBe(0);
    const out = resultOf(run) as { child: ChildResult; note: string; parent_job: string };
    // times and opts.mode come from the child's form; extra is a free-form object passed whole.
    expect(out.child).toMatchObject({ word: "yo", times: 2, mode: "fast", extra: { any: [1, 2], keys: true } });
    // The child's step wrote ./shared/note.txt; the parent's next step read it.
    expect(out.note).toBe("yo x2");
    // The child's jobs know their own flow and the run they belong to.
    expect(out.child.env.WM_FLOW_PATH).toBe("f/engine/child");
    expect(out.child.env.WM_ROOT_FLOW_JOB_ID).toBe(out.parent_job);
    expect(out.child.env.WM_FLOW_JOB_ID).not.toBe(out.parent_job);
    expect(run.ran).toEqual({ args: 2, share_write: 1, child_out: 1, share_read: 1, parent_out: 1 });
    expect(run.stderr).toContain("==> flow f/engine/child");
    expect(run.stderr).toContain("<== step explode: skipped (skip_if is true)");
  });

  it("a given input overrides the sub-flow's default", async () => {
    const run = await kdevflow(["run", "f/engine/parent", "--set", "times=5"]);
    expect(run.code, run.stderr).toBe(0);
    expect((resultOf(run) as { child: ChildResult }).child).toMatchObject({ word: "hi", times: 5 });
  });

  it("a failing sub-flow fails the parent; the parent's failure module sees error.step_id = the flow module's id", async () => {
    const run = await kdevflow(["run", "f/engine/parent", "--set", "fail=true"]);
    expect(run.code).toBe(1);
    expect(resultOf(run)).toEqual({ step_id: "child", flow_step_id: "explode", flow_path: "f/engine/child", name: "Error", message: "the child broke" });
    // The child's steps before the failure ran; nothing after it, in the child or the parent.
    expect(run.ran).toEqual({ args: 2, share_write: 1, boom: 1, failure: 1 });
    expect(run.stderr).toContain("kdevflow: step child failed: Error: the child broke");
  });

  it.each([
    ["a wrong type", "times=\"many\"", 'step child: times: expected an integer, got "many".'],
    ["a value under the minimum", "times=0", "step child: times: expected a number of at least 1, got 0."],
  ])("bad input to the sub-flow (%s) is exit 2, names the module and the field, and nothing runs", async (_name, set, message) => {
    const run = await kdevflow(["run", "f/engine/parent", "--set", set]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim()).toBe(`kdevflow: ${message}`);
    expect(run.ran).toEqual({});
  });

  it("bad input that comes from an earlier result is refused when the module runs: exit 2, the failure module runs", async () => {
    const run = await kdevflow(["run", "f/engine/late_input", "--set", 'times="many"']);
    expect(run.code).toBe(2);
    expect(resultOf(run)).toEqual({ step_id: "child", name: "InputError", message: 'step child: times: expected an integer, got "many".' });
    expect(run.ran).toEqual({ first: 1, failure: 1 });
  });

  it("the same, with a good value, runs the sub-flow", async () => {
    const run = await kdevflow(["run", "f/engine/late_input", "--set", "times=3"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toMatchObject({ word: "late", times: 3 });
  });

  it("retry runs the whole sub-flow again; skip_if skips it (results.<id> is null)", async () => {
    const run = await kdevflow(["run", "f/engine/subflow_retry"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.ran).toEqual({ "flaky-subflow": 2 });
    expect(run.stderr).toContain("<== step again: ok in");
    expect(run.stderr).toContain("(try 2 of 2)");
    expect(run.stderr).toContain("<== step skipped: skipped (skip_if is true)");
    expect(resultOf(run)).toBeNull();
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

  it("a sub-flow's own failure module runs first; the parent fails with the sub-flow's error under the module's id", async () => {
    const run = await kdevflow(["run", "f/engine/sub_failure"]);
    expect(run.code).toBe(1);
    expect(resultOf(run)).toMatchObject({ error: { name: "Error", message: "it broke", step_id: "inner", flow_path: "f/engine/failure", flow_step_id: "explode" } });
    expect(run.ran).toEqual({ ok: 1, boom: 1, failure: 1 });
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
