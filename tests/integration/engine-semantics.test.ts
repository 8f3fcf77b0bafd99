// The local engine runs each flow semantic as a Windmill server does. Every test runs the
// real ./kdevflow launcher on a flow of tests/fixtures/engine-workspace written for it;
// each step is a real Bun process, and records that it ran in a marker folder. Each
// describe names the part of Windmill's source (backend, v1.788 and later) it follows;
// docs/local-runner.md has the table.

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kdevflow, resultOf, tempDir } from "./engine-helpers.ts";

/** A process is gone, or a zombie waiting for its reaper: in any case no longer running. */
async function waitUntilNotRunning(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (stat === "" || state === "Z" || state === "X") return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const scratch = tempDir("kdevflow-engine-test-");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("branchone (windmill-worker/src/worker_flow.rs, compute_next_flow_transform: BranchOne)", () => {
  it("picks the first branch whose expression is true, even when a later one is true too", async () => {
    const run = await kdevflow(["run", "f/engine/branch", "--set", "choice=a"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ pick: "first", previous: "first" });
    expect(run.ran).toEqual({ first: 1, after: 1 });
  });

  it("takes a later branch when the earlier ones are false", async () => {
    const run = await kdevflow(["run", "f/engine/branch", "--set", "choice=b"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ pick: "second", previous: "second" });
    expect(run.ran).toEqual({ second: 1, after: 1 });
  });

  it("runs the default when no branch is true, and results.<branchone id> is its last result", async () => {
    const run = await kdevflow(["run", "f/engine/branch", "--set", "choice=c"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ pick: "default", previous: "default" });
    expect(run.ran).toEqual({ fallback: 1, after: 1 });
    expect(run.stderr).toContain("pick: default branch chosen");
  });
});

describe("skip_if (worker_flow.rs, push_next_flow_job: a skipped step is an identity job)", () => {
  it("a skipped step does not run; its result, and the next previous_result, is the previous step's result", async () => {
    const run = await kdevflow(["run", "f/engine/skip", "--set", "skip=true"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ b: 1, previous: 1 });
    expect(run.ran).toEqual({ a: 1, c: 1 });
    expect(run.stderr).toContain("<== step b: skipped");
  });

  // worker_flow.rs, update_flow_status_after_job_completion_internal: `!is_identity_job`.
  it("a skipped step's stop_after_if is not evaluated", async () => {
    const run = await kdevflow(["run", "f/engine/skip_stop", "--set", "skip=true"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toBe(1);
    expect(run.ran).toEqual({ a: 1, c: 1 });
  });

  it("the same step, not skipped, is stopped by it (so the expression is live)", async () => {
    const run = await kdevflow(["run", "f/engine/skip_stop", "--set", "skip=false"]);
    expect(run.code).toBe(1);
    expect(resultOf(run)).toEqual({ error: { name: "EarlyStopError", message: "b stopped the flow" } });
    expect(run.ran).toEqual({ a: 1, b: 1 });
    expect(run.stderr).toContain("kdevflow: the run failed: EarlyStopError: b stopped the flow");
  });

  it("a step whose skip_if is false runs", async () => {
    const run = await kdevflow(["run", "f/engine/skip"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ b: 2, previous: 2 });
    expect(run.ran).toEqual({ a: 1, b: 1, c: 1 });
  });
});

describe("stop_after_if (worker_flow.rs, update_flow_status_after_job_completion_internal)", () => {
  it("ends the flow after the step when true (seeing result and flow_input); the flow result is that step's", async () => {
    const run = await kdevflow(["run", "f/engine/stop", "--set", "n=10"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ n: 10 });
    expect(run.ran).toEqual({ a: 1 });
    expect(run.stderr).toContain("stopped early");
  });

  it("lets the flow go on when false", async () => {
    const run = await kdevflow(["run", "f/engine/stop", "--set", "n=1"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toBe("ran b");
    expect(run.ran).toEqual({ a: 1, b: 1 });
  });
});

describe("retry (worker_flow.rs: the retried job gets the failed job's arguments; windmill-common Retry::interval)", () => {
  it("a step that fails twice then succeeds succeeds (tries counted in ./shared); exponential retries too", async () => {
    const run = await kdevflow(["run", "f/engine/retry"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ constant: { tries: 3 }, exponential: { tries: 2 } });
    expect(run.ran).toEqual({ "flaky-constant": 3, "flaky-exponential": 2, report: 1 });
  });

  it("a step that still fails after its attempts fails the flow with exit status 1", async () => {
    const run = await kdevflow(["run", "f/engine/retry", "--set", "fail_times=3"]);
    expect(run.code).toBe(1);
    const result = resultOf(run) as { error: { step_id: string; message: string } };
    expect(result.error.step_id).toBe("flaky");
    expect(result.error.message).toBe("failing on purpose, try 3");
    expect(run.ran).toEqual({ "flaky-constant": 3 });
  });
});

describe("failure_module (worker_flow.rs: result_has_recover_true; windmill-jseval/src/lib.rs: error from previous_result)", () => {
  it("runs with error (step_id, name, message) after a failing step; later steps do not run; exit 1", async () => {
    const run = await kdevflow(["run", "f/engine/failure"]);
    expect(run.code).toBe(1);
    expect(resultOf(run)).toEqual({ step_id: "explode", message: "it broke", name: "Error", ok_result: "fine" });
    expect(run.ran).toEqual({ ok: 1, boom: 1, failure: 1 });
    expect(run.stderr).toContain("step explode failed: Error: it broke");
  });

  it("a failure module returning {recover: true} makes the flow succeed, as on a worker", async () => {
    const run = await kdevflow(["run", "f/engine/failure", "--set", "recover=true"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toMatchObject({ step_id: "explode", recover: true });
  });

  // windmill-worker/src/bun_executor.rs, the wrapper's catch; windmill-queue/src/jobs.rs, WrappedError.
  it("sees the error as the Bun wrapper shapes it: message, name, stack, step_id, and the error's own fields under extra", async () => {
    const run = await kdevflow(["run", "f/engine/failure_shape"]);
    expect(run.code).toBe(2); // the step raised an InputError
    const { error, previous_result } = resultOf(run) as { error: Record<string, unknown>; previous_result: unknown };
    expect(error).toEqual({
      message: 'size: expected small, medium or large, got "huge".',
      name: "InputError",
      stack: expect.stringContaining("InputError"),
      step_id: "check",
      extra: { field: "size", expected: "small, medium or large", got: "huge" },
    });
    // previous_result is the failed step's result: {error}.
    expect(previous_result).toEqual({ error });
    expect(run.ran).toEqual({ bad_input: 1, failure: 1 });
  });
});

describe("timeout (the job's process group is killed; windmill-worker/src/handle_child.rs kills a job past its timeout)", () => {
  it("kills a step past its timeout, with the commands it started, and fails the flow", async () => {
    const pidFile = join(scratch, "sleep.pid");
    const run = await kdevflow(["run", "f/engine/timeout", "--set", `pid_file=${pidFile}`]);
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(15_000); // the step itself sleeps 30 s
    const result = resultOf(run) as { error: { name: string; step_id: string } };
    expect(result.error).toMatchObject({ name: "TimeoutError", step_id: "slow" });
    // The step's child `sleep 30` was killed with it (signals take a moment under load).
    expect(await waitUntilNotRunning(Number(readFileSync(pidFile, "utf8")))).toBe(true);
  });
});

describe("interruption", () => {
  it("SIGTERM to kdevflow stops the running step and what it started, and exits 143", async () => {
    const { spawn } = await import("node:child_process");
    const { LAUNCHER, FIXTURE_WORKSPACE } = await import("./engine-helpers.ts");
    const pidFile = join(scratch, "interrupted.pid");
    const child = spawn(LAUNCHER, ["run", "f/engine/timeout", "--set", `pid_file=${pidFile}`, "--workspace", FIXTURE_WORKSPACE], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
      if (stderr.includes("sleeping 30 s")) child.kill("SIGTERM");
    });
    const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
    expect(code, stderr).toBe(143);
    expect(await waitUntilNotRunning(Number(readFileSync(pidFile, "utf8")))).toBe(true);
  });
});

describe("same_worker (windmill-worker/src/worker.rs: one job folder per job, ./shared the flow's)", () => {
  it("gives each job its own folder whose ./shared is the run's one shared folder", async () => {
    const run = await kdevflow(["run", "f/engine/shared", "--set", "text=passed along"]);
    expect(run.code, run.stderr).toBe(0);
    const r = resultOf(run) as { write: { cwd: string }; read: { cwd: string; note: string; shared_is_link: boolean } };
    expect(r.read.note).toBe("passed along");
    expect(r.read.shared_is_link).toBe(true);
    expect(r.read.cwd).not.toBe(r.write.cwd);
    // The run folder is removed afterwards, as a worker removes a finished flow's folder.
    expect(existsSync(r.write.cwd)).toBe(false);
  });

  it("two runs do not share a folder", async () => {
    const first = await kdevflow(["run", "f/engine/retry"]);
    const second = await kdevflow(["run", "f/engine/retry"]);
    expect(resultOf(first)).toEqual(resultOf(second)); // tries start from zero in each run
  });
});

describe("input transforms and arguments (worker_flow.rs, transform_input; bun_executor.rs, argsObjToArr)", () => {
  it("see flow_input, results.<id> and previous_result; args map to main's parameters by name", async () => {
    const run = await kdevflow(["run", "f/engine/transforms", "--set", "name=linux"]);
    expect(run.code, run.stderr).toBe(0);
    const r = resultOf(run) as { b: Record<string, unknown>; c: Record<string, unknown>; nulled: Record<string, unknown>; previous_is_nulled: boolean };
    expect(r.b).toMatchObject({ first: 42, second: "linux/41", third: { x: 3 } });
    // An argument no transform gives is undefined in main, so main's default applies.
    expect(r.c).toMatchObject({ first: 7, second: "s", third: "undefined" });
    expect(r.previous_is_nulled).toBe(true);
  });

  // windmill-jseval/src/lib.rs: the value is JSON.stringify(x ?? null), so main gets null and its default does not apply.
  it("a transform that evaluates to undefined arrives as null, not as a missing argument", async () => {
    const run = await kdevflow(["run", "f/engine/transforms"]);
    expect(run.code, run.stderr).toBe(0);
    expect((resultOf(run) as { nulled: Record<string, unknown> }).nulled).toMatchObject({ first: null, second: "n" });
  });
});

describe("the job environment (bun_executor.rs, handle_bun_job: env_clear; windmill-common/src/worker.rs, load_env_vars; variables.rs)", () => {
  const wmKeys = ["WM_WORKSPACE", "WM_BASE_URL", "WM_JOB_ID", "WM_JOB_PATH", "WM_FLOW_JOB_ID", "WM_ROOT_FLOW_JOB_ID", "WM_ROOT_JOB_ID", "WM_FLOW_PATH", "WM_FLOW_STEP_ID", "WM_SCHEDULE_PATH", "WM_WORKER_GROUP"];

  it("is PATH, HOME, TZ, the WM_* variables and what WHITELIST_ENVS names; a name the engine lacks is empty", async () => {
    const run = await kdevflow(["run", "f/engine/env"], {
      env: { WHITELIST_ENVS: "ENGINE_TEST_MARKERS,SYSTEM_DIR,KDEVFLOW_TEST_NEVER_SET", SYSTEM_DIR: "/srv/system", KDEVFLOW_TEST_NEVER_SET: undefined, SECRET_OF_THE_CALLER: "x", WM_TOKEN: "t" },
    });
    expect(run.code, run.stderr).toBe(0);
    const env = resultOf(run) as Record<string, string | null>;
    // KDEVFLOW_LINEAGE is the engine's own (process lifetime, f/common/proc.ts); a server's jobs have none.
    expect(Object.keys(env).sort()).toEqual([...wmKeys, "PATH", "HOME", "TZ", "ENGINE_TEST_MARKERS", "SYSTEM_DIR", "KDEVFLOW_TEST_NEVER_SET", "KDEVFLOW_LINEAGE"].sort());
    expect(env).toMatchObject({ SYSTEM_DIR: "/srv/system", KDEVFLOW_TEST_NEVER_SET: "", PATH: process.env.PATH, HOME: process.env.HOME });
    expect(env).toMatchObject({ WM_FLOW_PATH: "f/engine/env", WM_FLOW_STEP_ID: "env", WM_JOB_PATH: "f/engine/steps/env", WM_SCHEDULE_PATH: "" });
    expect(env.WM_JOB_ID).toMatch(/^[0-9a-f-]{36}$/);
    expect(env.WM_FLOW_JOB_ID).toBe(env.WM_ROOT_FLOW_JOB_ID);
    expect(env.WM_ROOT_JOB_ID).toBe(env.WM_FLOW_JOB_ID);
  });

  it("without WHITELIST_ENVS the engine passes kdevflow's list (f/common/job_env.ts), as a worker set up per the README", async () => {
    const { JOB_ENV_WHITELIST } = await import("../../f/common/job_env.ts");
    const run = await kdevflow(["run", "f/engine/env"], { env: { WHITELIST_ENVS: undefined, WORKER_INDEX: "3", KDEVFLOW_NIX_OPTIONS: undefined } });
    expect(run.code, run.stderr).toBe(0);
    const env = resultOf(run) as Record<string, string | null>;
    expect(Object.keys(env).sort()).toEqual([...wmKeys, "PATH", "HOME", "TZ", ...JOB_ENV_WHITELIST, "KDEVFLOW_LINEAGE"].sort());
    expect(env).toMatchObject({ WORKER_INDEX: "3", KDEVFLOW_NIX_OPTIONS: "" });
    // ENGINE_TEST_MARKERS is not in the list, so no step could record that it ran.
    expect(run.ran).toEqual({});
  });

  it("each job has its own WM_JOB_ID in the flow's WM_FLOW_JOB_ID", async () => {
    const run = await kdevflow(["run", "f/engine/transforms"]);
    expect(run.code, run.stderr).toBe(0);
    const r = resultOf(run) as { b: { env: Record<string, string | null> }; c: { env: Record<string, string | null> } };
    expect(r.b.env).toMatchObject({ WM_FLOW_PATH: "f/engine/transforms", WM_FLOW_STEP_ID: "b", WM_JOB_PATH: "f/engine/steps/args", WM_TOKEN: null });
    expect(r.c.env.WM_FLOW_JOB_ID).toBe(r.b.env.WM_FLOW_JOB_ID);
    expect(r.c.env.WM_JOB_ID).not.toBe(r.b.env.WM_JOB_ID);
  });
});

describe("results (bun_executor.rs: JSON.stringify(res ?? null, undefined -> null); worker_flow.rs)", () => {
  it("an identity step passes previous_result on; main returning undefined gives null", async () => {
    const run = await kdevflow(["run", "f/engine/misc"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({ pass: 1, nothing: null, previous: null });
  });

  it("an expression that throws fails its step, naming the expression; exit 1", async () => {
    const run = await kdevflow(["run", "f/engine/misc", "--set", "broken=true"]);
    expect(run.code).toBe(1);
    const { error } = resultOf(run) as { error: { step_id: string; message: string; name: string } };
    expect(error.step_id).toBe("check");
    expect(error.name).toBe("ExecutionErr");
    expect(error.message).toMatch(/^input_transforms: Error during evaluation of expression `flow_input\.broken \? results\.nothing\.field[^`]*`:\nTypeError: /);
    expect(run.ran).toEqual({ one: 1, nothing: 1 });
  });

  // worker_flow.rs: EarlyStopError; should_continue_flow runs the failure module when there is one.
  it("stop_after_if with an error_message fails the flow with EarlyStopError, and the failure module runs with it", async () => {
    const run = await kdevflow(["run", "f/engine/early_error"]);
    expect(run.code).toBe(1);
    expect(resultOf(run)).toEqual({
      error: { name: "EarlyStopError", message: "nothing to do" },
      previous_result: { error: { name: "EarlyStopError", message: "nothing to do" } },
      a: 1,
    });
    expect(run.ran).toEqual({ a: 1, failure: 1 });
  });
});

describe("rawscript (an !inline file beside flow.yaml, deployed as the step's code)", () => {
  it("runs the !inline file beside flow.yaml, whose relative imports resolve", async () => {
    const run = await kdevflow(["run", "f/engine/inline", "--set", "who=maintainers"]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toBe("hello, maintainers!");
    expect(run.ran).toEqual({ greet: 1 });
  });
});

describe("inputs from the web form (kdevflow run without --api)", () => {
  it("fills nested defaults and coerces --set values by the field's type", async () => {
    const run = await kdevflow([
      "run", "f/engine/nested",
      "--set", "name=qemu-7",
      "--set", "targets=aarch64-softmmu",
      "--set", "build.ccache.dir=/var/cache/x",
      "--set", "label=123",
      "--set", "count=5",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toEqual({
      name: "qemu-7",
      mode: "fast",
      targets: ["aarch64-softmmu"],
      build: { jobs: 2, ccache: { size: "5G", dir: "/var/cache/x" } },
      label: "123",
      count: 5,
      use_custom: false,
    });
  });

  it("reads --input, lets --set override it, and writes --output atomically", async () => {
    const input = join(scratch, "in.json");
    const output = join(scratch, "out", "result.json");
    writeFileSync(input, JSON.stringify({ name: "from-file", mode: "slow", build: { jobs: 8 } }));
    const run = await kdevflow(["run", "f/engine/nested", "--input", input, "--set", "mode=fast", "--output", output]);
    expect(run.code, run.stderr).toBe(0);
    const written = JSON.parse(readFileSync(output, "utf8"));
    expect(written).toEqual(resultOf(run));
    expect(written).toMatchObject({ name: "from-file", mode: "fast", build: { jobs: 8, ccache: { size: "5G" } } });
  });

  it("reads --input - from stdin", async () => {
    const run = await kdevflow(["run", "f/engine/nested", "--input", "-"], { stdin: '{"name": "piped"}' });
    expect(run.code, run.stderr).toBe(0);
    expect(resultOf(run)).toMatchObject({ name: "piped" });
  });

  it("a step raising InputError makes the run exit 2", async () => {
    const run = await kdevflow(["run", "f/engine/input_error"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('size: expected small, medium or large, got "huge".');
  });

  it("a failed flow does not write --output", async () => {
    const output = join(scratch, "never.json");
    const run = await kdevflow(["run", "f/engine/failure", "--output", output]);
    expect(run.code).toBe(1);
    expect(existsSync(output)).toBe(false);
  });
});

describe("list, show, help", () => {
  it("list prints every flow, then every script and schedule, with its summary", async () => {
    const run = await kdevflow(["list"]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toContain("f/engine/branch           branchone picks the first true branch, else the default");
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([
      "f/engine/branch", "f/engine/child", "f/engine/early_error", "f/engine/env", "f/engine/failure", "f/engine/failure_shape", "f/engine/flaky_child",
      "f/engine/inline", "f/engine/input_error", "f/engine/loop", "f/engine/misc", "f/engine/nested", "f/engine/parent",
      "f/engine/retry", "f/engine/shared", "f/engine/skip", "f/engine/skip_stop", "f/engine/slot", "f/engine/slow_child", "f/engine/solo", "f/engine/stop",
      "f/engine/sub_failure", "f/engine/subflow_retry", "f/engine/subflow_timeout", "f/engine/timeout", "f/engine/transforms",
      "f/engine/tools/greet",
      "f/engine/nightly", "f/engine/sched_env", "f/engine/sched_script", "f/engine/sched_wrong",
    ]);
    expect(lines).toContain("f/engine/tools/greet      (script) Greet someone");
    expect(lines).toContain("f/engine/nightly          (schedule) runs f/engine/nested with exactly these args");
  });

  it("show prints the form: order, types, defaults, choices, groups, showExpr", async () => {
    const run = await kdevflow(["show", "f/engine/nested"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("  name: string, required\n      A short name.\n      at most 12 characters, matching /^[a-z0-9-]+$/\n");
    expect(run.stdout).toContain("  targets: multiselect, default [\"x86_64-softmmu\"]\n");
    expect(run.stdout).toContain("      choices: x86_64-softmmu, aarch64-softmmu, riscv64-softmmu\n");
    expect(run.stdout).toContain("    jobs: integer, default 2\n        Parallel jobs.\n");
    expect(run.stdout).toContain("      shown when: fields.use_custom === true\n");
    expect(run.stdout.indexOf("  name:")).toBeLessThan(run.stdout.indexOf("  mode:"));
  });

  it("KDEVFLOW_WORKSPACE selects the workspace when --workspace is not given", async () => {
    const { FIXTURE_WORKSPACE } = await import("./engine-helpers.ts");
    const run = await kdevflow(["list"], { workspace: null, env: { KDEVFLOW_WORKSPACE: FIXTURE_WORKSPACE } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("f/engine/nested");
  });

  it("without --workspace, list and show read the repository's own flows, scripts and schedules", async () => {
    const { REPO } = await import("./engine-helpers.ts");
    const list = await kdevflow(["list"], { workspace: null, env: { KDEVFLOW_WORKSPACE: "" } });
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout.trim().split("\n").filter(Boolean).map((l) => l.split(/\s+/));
    const file = { flow: "__flow/flow.yaml", "(script)": ".ts", "(schedule)": ".schedule.yaml" };
    const kinds = new Set<string>();
    for (const [p, marker] of rows) {
      const kind = marker === "(script)" || marker === "(schedule)" ? marker : "flow";
      kinds.add(kind);
      expect(existsSync(join(REPO, `${p}${file[kind]}`)), p).toBe(true);
      if (kind !== "flow") continue;
      const show = await kdevflow(["show", p!], { workspace: null, env: { KDEVFLOW_WORKSPACE: "" } });
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout.startsWith(p!)).toBe(true);
    }
    expect([...kinds].sort()).toEqual(["(schedule)", "(script)", "flow"]);
  });

  it.each([{ args: ["--help"] }, { args: ["run", "--help"] }, { args: ["list", "--help"] }, { args: ["show", "--help"] }, { args: ["help", "run"] }])("$args prints usage and exits 0", async ({ args }) => {
    const run = await kdevflow(args);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: |\nUsage:\n/);
  });
});
