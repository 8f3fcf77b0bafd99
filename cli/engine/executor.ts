// Run a flow, or a script on its own, the way a Windmill server does, on this machine:
// modules in order, each script step as its own Bun job (script_job.ts), identity,
// branchone, flow modules, skip_if, stop_after_if, retry, timeout, the failure module,
// and with same_worker one shared folder per run that every job sees as ./shared. The
// semantics follow backend windmill-worker/src/worker_flow.rs; each is listed, with the
// function it follows, in docs/local-runner.md. Progress goes to `log` (the CLI's
// stderr); the result is returned, not printed.

import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { hasPassed, within, type Deadline } from "./deadline.ts";
import { evalPredicate, evalTransforms, type ExprContext } from "./expr.ts";
import type { FlowModule, FlowValue, ScriptValue, RawScriptValue } from "./flow.ts";
import type { EngineEnv, JobIdentity } from "./job_env.ts";
import { engineError, errorOf, failure, hasRecoverTrue, stopAfterIfOutcome, success, type ErrorObject, type Outcome } from "./outcome.ts";
import { unusedInputWarnings, type PreparedFlow, type PreparedStep } from "./prepare.ts";
import { maxTries, retryDelaySeconds } from "./retry.ts";
import type { RunFolders } from "./run_folders.ts";
import { runScriptJob } from "./script_job.ts";

/** What every flow and job of one top-level run shares. */
export interface RunContext {
  workspace: string;
  /** The Bun binary that runs each job. */
  bun: string;
  /** The engine's own environment: the job environment is built from it (job_env.ts). */
  env: EngineEnv;
  log: (line: string) => void;
  folders: RunFolders;
  /** The schedule that started the run (WM_SCHEDULE_PATH). */
  schedulePath?: string;
}

export type FlowStatus = "success" | "failure" | "stopped";

export interface StepRecord {
  id: string;
  status: "success" | "failure" | "skipped";
  tries: number;
  durationMs: number;
}

export interface FlowOutcome {
  status: FlowStatus;
  /** The result as a server stores it: on failure, the failed step's `{error}` or the failure module's result. */
  result: unknown;
  /** The error that failed the run, from the job that raised it (for the CLI's message and exit status). */
  error?: ErrorObject;
  steps: StepRecord[];
  durationMs: number;
}

/** Where a flow's jobs run and whose they are. */
interface Scope {
  flowJobId: string;
  rootFlowJobId: string;
  rootJobId: string;
  runDir: string;
  /** The folder jobs see as ./shared, or null when the flow does not run on one worker. */
  sharedDir: string | null;
  deadline?: Deadline;
  log: (line: string) => void;
}

/** A module's end: its outcome, whether it stopped the flow cleanly, and the error that failed it. */
interface ModuleEnd extends Outcome {
  stop?: true;
  cause?: ErrorObject;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function firstLine(s: unknown): string {
  return String(s ?? "").split("\n")[0] ?? "";
}

function sleep(seconds: number): Promise<void> {
  return new Promise((r) => setTimeout(r, seconds * 1000));
}

function failed(error: ErrorObject): ModuleEnd {
  return { ...failure(error), cause: error };
}

class FlowRun {
  private readonly results: Record<string, unknown> = {};
  readonly steps: StepRecord[] = [];

  constructor(
    private readonly ctx: RunContext,
    private readonly prepared: PreparedFlow,
    /** flow_input: the form's checked inputs, the API's as given, or a flow module's evaluated transforms. */
    private readonly input: unknown,
    private readonly scope: Scope,
  ) {}

  private exprContext(previous: unknown): ExprContext {
    return { flow_input: this.input, results: this.results, previous_result: previous };
  }

  async run(): Promise<FlowOutcome> {
    const started = performance.now();
    const { location, flow } = this.prepared;
    const log = this.scope.log;
    log(`==> flow ${location.path}${flow.summary ? `: ${flow.summary}` : ""}`);
    log(`    inputs: ${JSON.stringify(this.input)}`);
    for (const w of unusedInputWarnings(flow, this.prepared.steps)) log(`    warning: ${w}`);
    // The first step's previous_result is the flow input, as on a worker.
    const end = await this.runModules(flow.value.modules, this.input);
    let outcome: Omit<FlowOutcome, "steps" | "durationMs">;
    if (end.ok) {
      outcome = { status: end.stop ? "stopped" : "success", result: end.result };
    } else {
      outcome = { status: "failure", result: end.result, ...(end.cause ? { error: end.cause } : {}) };
      const fm = flow.value.failure_module;
      if (fm) {
        // The failure module's previous_result is the failed result; its `error` is read from it.
        const handled = await this.runModule(fm, end.result, { failureModule: true });
        const recovered = handled.ok && hasRecoverTrue(handled.result);
        outcome = { ...outcome, status: recovered ? "success" : "failure", result: handled.result };
      }
    }
    const durationMs = performance.now() - started;
    const word = { success: "succeeded", failure: "failed", stopped: "stopped early" }[outcome.status];
    log(`==> flow ${location.path}: ${word} in ${formatMs(durationMs)}`);
    return { ...outcome, steps: this.steps, durationMs };
  }

  private async runModules(modules: FlowModule[], previous: unknown): Promise<ModuleEnd> {
    let last: ModuleEnd = success(previous);
    for (const m of modules) {
      last = await this.runModule(m, last.result);
      if (!last.ok || last.stop) return last;
    }
    return last;
  }

  private record(id: string, status: StepRecord["status"], tries: number, started: number): void {
    this.steps.push({ id, status, tries, durationMs: performance.now() - started });
  }

  private async runModule(m: FlowModule, previous: unknown, opts: { failureModule?: boolean } = {}): Promise<ModuleEnd> {
    const log = this.scope.log;
    log(`==> step ${m.id}${m.summary ? `: ${m.summary}` : ""}`);
    const started = performance.now();
    if (hasPassed(this.scope.deadline, started)) {
      this.record(m.id, "failure", 0, started);
      return failed(engineError("TimeoutError", this.scope.deadline!.message, m.id));
    }
    if (m.skip_if) {
      let skip: boolean;
      try {
        skip = await evalPredicate(m.skip_if.expr, this.exprContext(previous));
      } catch (err) {
        return this.expressionFailed(m.id, "skip_if", err, started);
      }
      if (skip) {
        // An identity job: its result is the previous result (worker_flow.rs, push_next_flow_job).
        this.results[m.id] = previous;
        this.record(m.id, "skipped", 0, started);
        log(`<== step ${m.id}: skipped (skip_if is true), passing the previous result on`);
        return success(previous);
      }
    }
    const v = m.value;
    let args: Record<string, unknown> = {};
    if (v.type === "script" || v.type === "rawscript" || v.type === "flow") {
      try {
        args = await evalTransforms(v.input_transforms, this.exprContext(previous));
      } catch (err) {
        return this.expressionFailed(m.id, "input_transforms", err, started);
      }
    }
    const tries = maxTries(m.retry);
    // A retry runs the module again with the same arguments (worker_flow.rs: the args of the last failed job).
    for (let attempt = 1; ; attempt++) {
      const tryStarted = performance.now();
      const end = await this.execute(m, previous, args);
      this.results[m.id] = end.result;
      if (end.ok) {
        log(`<== step ${m.id}: ok in ${formatMs(performance.now() - tryStarted)}${attempt > 1 ? ` (try ${attempt} of ${tries})` : ""}`);
        this.record(m.id, "success", attempt, started);
        if (end.stop || !m.stop_after_if || opts.failureModule) return end;
        return this.stopAfterIf(m, end, started);
      }
      const e = errorOf(end.result);
      log(`<== step ${m.id}: failed in ${formatMs(performance.now() - tryStarted)}: ${e?.name ?? "Error"}: ${firstLine(e?.message ?? JSON.stringify(end.result))}`);
      const delay = retryDelaySeconds(m.retry, attempt - 1);
      if (delay === null) {
        this.record(m.id, "failure", attempt, started);
        return end;
      }
      log(`    retry ${attempt} of ${tries - 1} for step ${m.id} in ${delay} s`);
      if (delay > 0) await sleep(delay);
    }
  }

  /** After a step that succeeded: Boolean(expr) with result = the step's result (compute_bool_from_expr). */
  private async stopAfterIf(m: FlowModule, end: ModuleEnd, started: number): Promise<ModuleEnd> {
    const stop = m.stop_after_if!;
    let hit: boolean;
    try {
      hit = await evalPredicate(stop.expr, this.exprContext(end.result));
    } catch (err) {
      return this.expressionFailed(m.id, "stop_after_if", err, started);
    }
    if (!hit) return end;
    const decided = stopAfterIfOutcome(stop, end.result);
    if (decided.clean) {
      this.scope.log(`    stop_after_if is true: the flow ends after step ${m.id}`);
      return { ...end, stop: true };
    }
    this.scope.log(`    stop_after_if is true: the flow fails after step ${m.id}: ${decided.error.message}`);
    return failed(decided.error);
  }

  private expressionFailed(stepId: string, what: string, err: unknown, started: number): ModuleEnd {
    const e = err instanceof Error ? err : new Error(String(err));
    this.record(stepId, "failure", 1, started);
    this.scope.log(`<== step ${stepId}: ${what} failed: ${firstLine(e.message)}`);
    return failed(engineError(e.name, `${what}: ${e.message}`, stepId));
  }

  private async execute(m: FlowModule, previous: unknown, args: Record<string, unknown>): Promise<ModuleEnd> {
    const v = m.value;
    switch (v.type) {
      case "identity":
        return success(previous);
      case "branchone": {
        let chosen = -1;
        for (let i = 0; i < v.branches.length; i++) {
          let hit: boolean;
          try {
            hit = await evalPredicate(v.branches[i]!.expr, this.exprContext(previous));
          } catch (err) {
            const e = err instanceof Error ? err : new Error(String(err));
            return failed(engineError(e.name, `branch ${i + 1} expression: ${e.message}`, m.id));
          }
          if (hit) {
            chosen = i;
            break;
          }
        }
        const branch = chosen >= 0 ? v.branches[chosen]! : null;
        this.scope.log(`    ${m.id}: ${branch ? `branch ${chosen + 1}${branch.summary ? ` (${branch.summary})` : ""}` : "default branch"} chosen`);
        // The branch's last result is the module's; a branch with no modules passes the previous result on.
        return this.runModules(branch ? branch.modules ?? [] : v.default ?? [], previous);
      }
      case "script":
      case "rawscript":
        return this.runStep(m, v, args);
      case "flow":
        return this.runSubflow(m, v, args);
    }
  }

  private identity(stepId: string, jobPath: string): Omit<JobIdentity, "jobId"> {
    return {
      jobPath,
      flowPath: this.prepared.location.path,
      flowJobId: this.scope.flowJobId,
      rootFlowJobId: this.scope.rootFlowJobId,
      rootJobId: this.scope.rootJobId,
      stepId,
      schedulePath: this.ctx.schedulePath ?? "",
    };
  }

  private async runStep(m: FlowModule, v: ScriptValue | RawScriptValue, args: Record<string, unknown>): Promise<ModuleEnd> {
    const step: PreparedStep = this.prepared.steps.get(m.id) ?? { file: "", names: [] };
    const jobPath = v.type === "script" ? v.path.replace(/^\//, "") : `${this.prepared.location.path}/${m.id}`;
    const deadline = within(this.scope.deadline, m.timeout, `step ${m.id} timed out after ${m.timeout} s and was killed`, performance.now());
    const end = await runScriptJob(
      {
        step,
        ...(v.type === "rawscript" && !step.file ? { code: v.content } : {}),
        args,
        identity: this.identity(m.id, jobPath),
        runDir: this.scope.runDir,
        sharedDir: this.scope.sharedDir,
        ...(deadline ? { deadline } : {}),
      },
      { bun: this.ctx.bun, env: this.ctx.env, log: this.scope.log },
    );
    const cause = end.ok ? undefined : errorOf(end.result);
    return { ...end, ...(cause ? { cause } : {}) };
  }

  /**
   * A flow module: the sub-flow runs with its evaluated transforms as its flow_input,
   * nothing filled and nothing checked (worker_flow.rs pushes them as the job's args).
   * Its steps' WM_ROOT_FLOW_JOB_ID is the sub-flow's own job id (the innermost root:
   * push_next_flow_job gives a flow module no flow_innermost_root_job). Its result,
   * success or failure, is the module's.
   */
  private async runSubflow(m: FlowModule, v: FlowValue, args: Record<string, unknown>): Promise<ModuleEnd> {
    const child = this.prepared.subflows.get(m.id);
    if (!child) return failed(engineError("ExecutionErr", `flow ${v.path} was not prepared`, m.id));
    const childJobId = randomUUID();
    const onOneWorker = this.scope.sharedDir !== null;
    let sharedDir: string | null = onOneWorker ? this.scope.sharedDir : null;
    if (!onOneWorker && child.flow.value.same_worker === true) {
      sharedDir = join(this.scope.runDir, `shared-${childJobId}`);
      await mkdir(sharedDir);
    }
    const deadline = within(this.scope.deadline, m.timeout, `step ${m.id} (flow ${child.location.path}) timed out after ${m.timeout} s and was killed`, performance.now());
    const run = new FlowRun(this.ctx, child, args, {
      flowJobId: childJobId,
      rootFlowJobId: childJobId,
      rootJobId: this.scope.rootJobId,
      runDir: this.scope.runDir,
      sharedDir,
      ...(deadline ? { deadline } : {}),
      log: (line) => this.scope.log(`  ${line}`),
    });
    const outcome = await run.run();
    for (const step of outcome.steps) this.steps.push({ ...step, id: `${m.id}/${step.id}` });
    if (outcome.status !== "failure") return success(outcome.result);
    return { ok: false, result: outcome.result, ...(outcome.error ? { cause: outcome.error } : {}) };
  }
}

/** Run a flow from the top: its own run folder (and ./shared when same_worker), removed at the end. */
export async function runFlow(ctx: RunContext, prepared: PreparedFlow, input: unknown): Promise<FlowOutcome> {
  const runDir = await ctx.folders.create();
  try {
    let sharedDir: string | null = null;
    if (prepared.flow.value.same_worker === true) {
      sharedDir = join(runDir, "shared");
      await mkdir(sharedDir);
    }
    const jobId = randomUUID();
    const scope: Scope = { flowJobId: jobId, rootFlowJobId: jobId, rootJobId: jobId, runDir, sharedDir, log: ctx.log };
    return await new FlowRun(ctx, prepared, input, scope).run();
  } finally {
    if (ctx.folders.keep) ctx.log(`    run folder kept: ${runDir}`);
    await ctx.folders.release(runDir);
  }
}

/**
 * Run a script on its own, as `wmill script run` has a worker do: one job, its arguments
 * as given, no flow around it (WM_FLOW_JOB_ID, WM_FLOW_PATH, WM_FLOW_STEP_ID are "").
 */
export async function runScript(ctx: RunContext, path: string, step: PreparedStep, args: Record<string, unknown>): Promise<FlowOutcome> {
  const started = performance.now();
  const runDir = await ctx.folders.create();
  try {
    ctx.log(`==> script ${path}`);
    ctx.log(`    inputs: ${JSON.stringify(args)}`);
    const jobId = randomUUID();
    const end = await runScriptJob(
      {
        step,
        args,
        jobId,
        identity: { jobPath: path, flowPath: "", flowJobId: "", rootFlowJobId: "", rootJobId: jobId, stepId: "", schedulePath: ctx.schedulePath ?? "" },
        runDir,
        sharedDir: null,
      },
      { bun: ctx.bun, env: ctx.env, log: ctx.log },
    );
    const durationMs = performance.now() - started;
    ctx.log(`==> script ${path}: ${end.ok ? "succeeded" : "failed"} in ${formatMs(durationMs)}`);
    const error = end.ok ? undefined : errorOf(end.result);
    return {
      status: end.ok ? "success" : "failure",
      result: end.result,
      ...(error ? { error } : {}),
      steps: [{ id: path, status: end.ok ? "success" : "failure", tries: 1, durationMs }],
      durationMs,
    };
  } finally {
    if (ctx.folders.keep) ctx.log(`    run folder kept: ${runDir}`);
    await ctx.folders.release(runDir);
  }
}
