// How a run starts: as the web form (kdevflow run), as the API (kdevflow run --api), as a
// schedule (kdevflow schedule run), or as a script on its own (kdevflow run <script>).
// Only the web form fills defaults and refuses input; the others pass arguments exactly.
// Every test runs the real ./kdevflow launcher on tests/fixtures/engine-workspace.

import { describe, expect, it } from "vitest";
import { kdevflow, resultOf } from "./engine-helpers.ts";

describe("kdevflow run --api: as `wmill flow run -d` and the API (windmill-cli cli/src/commands/flow/flow.ts, run)", () => {
  it("fills nothing: the flow sees exactly the inputs given", async () => {
    const run = await kdevflow(["run", "--api", "f/engine/nested", "--set", "name=bare"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ name: "bare" });
  });

  it("checks nothing: a value the form would refuse, and a key it does not have, reach the flow", async () => {
    const run = await kdevflow(["run", "--api", "f/engine/nested", "--input", "-", "--set", "mode=medium"], { stdin: '{"name": "Not Valid!", "colour": "red", "count": null}' });
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ name: "Not Valid!", colour: "red", count: null, mode: "medium" });
  });

  it("the same inputs through the form are refused", async () => {
    const run = await kdevflow(["run", "f/engine/nested", "--set", "name=bare", "--set", "mode=medium"]);
    expect(run.code).toBe(2);
    expect(run.ran).toEqual({});
  });

  // windmill-cli cli/src/utils/utils.ts, validateRequiredArgs.
  it("with no inputs at all, a form with required fields is refused before anything runs, as wmill refuses it without -d", async () => {
    const run = await kdevflow(["run", "--api", "f/engine/nested"]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe("kdevflow: name: expected a value: the form requires them, and with --api nothing fills them (give --input or --set, as wmill wants -d).");
    expect(run.ran).toEqual({});
  });

  it("an empty object is data: it runs, with nothing in flow_input", async () => {
    const run = await kdevflow(["run", "--api", "f/engine/nested", "--input", "-"], { stdin: "{}" });
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({});
  });
});

describe("kdevflow schedule run: the schedule's args exactly (windmill-queue/src/schedule.rs, push_scheduled_job)", () => {
  it("runs the schedule's flow with its args, no default filled, nothing checked", async () => {
    const run = await kdevflow(["schedule", "run", "f/engine/nightly"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ name: "nightly", mode: "medium" });
  });

  it("its jobs see WM_SCHEDULE_PATH (windmill-common/src/variables.rs); a schedule without args passes none", async () => {
    const run = await kdevflow(["schedule", "run", "f/engine/sched_env"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toMatchObject({ WM_SCHEDULE_PATH: "f/engine/sched_env", WM_FLOW_PATH: "f/engine/env" });
  });

  it("runs a script when the schedule names one", async () => {
    const run = await kdevflow(["schedule", "run", "f/engine/sched_script"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toMatchObject({ greeting: "hello, cron!", env: { WM_SCHEDULE_PATH: "f/engine/sched_script" } });
  });

  it.each([
    ["an unknown schedule", "f/engine/nightlly", /^kdevflow: path f\/engine\/nightlly: expected the path of a schedule in the workspace \(did you mean f\/engine\/nightly\?\)\.$/],
    ["is_flow that does not match what script_path names", "f/engine/sched_wrong", /^kdevflow: schedule f\/engine\/sched_wrong is_flow: expected false \(f\/engine\/tools\/greet is a script\), got true\.$/],
  ])("refuses %s before anything runs", async (_name, path, message) => {
    const run = await kdevflow(["schedule", "run", path]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(message);
    expect(run.ran).toEqual({});
  });
});

describe("kdevflow run <script>: as `wmill script run` (windmill-cli cli/src/commands/script/script.ts, run; bun_executor.rs, argsObjToArr)", () => {
  it("runs the script as one job outside any flow; an argument not given takes main's default", async () => {
    const run = await kdevflow(["run", "f/engine/tools/greet", "--set", "who=world"]);
    expect(run.code, run.stderr).toBe(0);
    const out = resultOf(run) as { greeting: string; env: Record<string, string | null> };
    expect(out.greeting).toBe("hello, world!");
    expect(out.env).toMatchObject({ WM_JOB_PATH: "f/engine/tools/greet", WM_FLOW_PATH: "", WM_FLOW_JOB_ID: "", WM_ROOT_FLOW_JOB_ID: "", WM_FLOW_STEP_ID: "", WM_SCHEDULE_PATH: "" });
    expect(out.env.WM_ROOT_JOB_ID).toBe(out.env.WM_JOB_ID);
    expect(run.ran).toEqual({ "tool-greet": 1 });
  });

  it("an argument given as null stays null: main's default does not apply", async () => {
    const run = await kdevflow(["run", "f/engine/tools/greet.ts", "--input", "-"], { stdin: '{"who": "x", "punctuation": null}' });
    expect(run.code, run.stderr).toBe(0);
    expect((resultOf(run) as { greeting: string }).greeting).toBe("hello, xnull");
  });

  it("with no inputs at all, the script's required fields are refused, as wmill refuses them without -d", async () => {
    const run = await kdevflow(["run", "f/engine/tools/greet"]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^kdevflow: who: expected a value: the form requires them/);
    expect(run.ran).toEqual({});
  });

  it("a script that throws fails with its error as the result; exit 1", async () => {
    const run = await kdevflow(["run", "f/engine/tools/greet", "--set", "who=nobody"]);
    expect(run.code).toBe(1);
    expect(resultOf(run)).toEqual({ error: { message: "nobody to greet", name: "Error", stack: expect.stringContaining("nobody to greet") } });
    expect(run.stderr).toContain("kdevflow: the run failed: Error: nobody to greet");
  });

  it("show prints a script's form from its .script.yaml", async () => {
    const run = await kdevflow(["show", "f/engine/tools/greet"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("f/engine/tools/greet: Greet someone\n");
    expect(run.stdout).toContain("  who: string, required\n      Whom to greet.\n");
    expect(run.stdout).toContain('  punctuation: string, default "!"\n');
  });
});
