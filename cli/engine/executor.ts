// Run a flow the way a Windmill worker does, on this machine: modules in order, each
// script step as its own Bun job (step_host.ts), branchone, skip_if, stop_after_if,
// retry, timeout, the failure module, and with same_worker one shared folder per run
// that every job sees as ./shared. Progress goes to `log` (the CLI's stderr); the flow
// result is returned, not printed.

import { randomUUID } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { InputError } from "../../f/common/errors.ts";
import { evalExpr, evalPredicate, toJsonValue, type ExprContext } from "./expr.ts";
import {
  allModules,
  findFlow,
  moduleFile,
  readFlowFile,
  type FlowFile,
  type FlowLocation,
  type FlowModule,
  type FlowValue,
  type RawScriptValue,
  type ScriptValue,
} from "./flow.ts";
import { runJobProcess } from "./job.ts";
import { markKept, runDirPrefix } from "./lifetime.ts";
import { mainSignatureOf } from "./params.ts";
import { maxTries, retryDelaySeconds } from "./retry.ts";
import { validateInputs } from "./schema.ts";

export const STEP_HOST = resolve(import.meta.dirname, "step_host.ts");

/** What a failed step hands to the failure module as `error`. */
export interface StepError {
  name: string;
  message: string;
  stack: string;
  step_id: string;
  [key: string]: unknown;
}

export class StepFailed extends Error {
  constructor(readonly error: StepError) {
    super(`${error.name}: ${error.message}`);
    this.name = "StepFailed";
  }
}

export type FlowStatus = "success" | "failure" | "stopped";

export interface FlowOutcome {
  status: FlowStatus;
  /** The flow's result (on failure: the failure module's result, else {error}). */
  result: unknown;
  /** The error of the step that failed, if one did. */
  error?: StepError;
  /** The failed step raised an InputError: the CLI exits 2. */
  inputError: boolean;
  /** Every step that ran, in order, with its outcome (for tests and the summary). */
  steps: StepRecord[];
  durationMs: number;
}

export interface StepRecord {
  id: string;
  status: "success" | "failure" | "skipped";
  tries: number;
  durationMs: number;
}

/** A script step, resolved before the run: its file and main's parameter names. */
export interface PreparedStep {
  file: string;
  names: string[];
}

/** A flow resolved before the run: its script steps and, by module id, the flows its flow modules run. */
export interface PreparedFlow {
  location: FlowLocation;
  flow: FlowFile;
  steps: Map<string, PreparedStep>;
  subflows: Map<string, PreparedFlow>;
}

/** What a flow module's run inherits from the run that started it. */
interface ParentRun {
  /** The job id of the top-level flow (WM_ROOT_FLOW_JOB_ID). */
  rootJobId: string;
  runDir: string;
  /** The parent's shared folder when the parent runs on one worker; else the child makes its own. */
  sharedDir: string | null;
  prepared: PreparedFlow;
  /** performance.now() after which a flow module's timeout (this one's or an outer one's) has passed, and what to say then. */
  deadline?: number;
  deadlineMessage?: string;
}

export interface RunOptions {
  workspace: string;
  location: FlowLocation;
  flow: FlowFile;
  /** Validated inputs, defaults filled. */
  input: Record<string, unknown>;
  /** The Bun binary that runs each step. */
  bun: string;
  log: (line: string) => void;
  /** Base environment for jobs (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Keep the run folder (jobs and shared) after the run instead of removing it. */
  keepRunDir?: boolean;
}

/**
 * Resolve every script the flow can run, before anything runs: the file exists and
 * exports `main`, whose parameters parse_deno reads. A problem is an InputError.
 */
export async function prepareFlow(workspace: string, location: FlowLocation, flow: FlowFile): Promise<Map<string, PreparedStep>> {
  const prepared = new Map<string, PreparedStep>();
  for (const m of allModules(flow)) {
    const v = m.value;
    if (v.type !== "script" && v.type !== "rawscript") continue;
    const field = `${location.path} step ${m.id}`;
    if (v.type === "rawscript" && !/^!inline\s/.test(v.content.trim())) {
      prepared.set(m.id, { file: "", names: [] }); // literal code: parsed when the job is written
      continue;
    }
    const file = moduleFile(workspace, location.dir, v);
    if (!existsSync(file)) {
      const what = v.type === "script" ? `script ${v.path} (${file})` : `inline file ${v.content.trim().slice(8)}`;
      throw new InputError(field, `an existing ${what}`);
    }
    let sig;
    try {
      sig = await mainSignatureOf(file);
    } catch (err) {
      throw new InputError(field, `a script parse_deno can read (${(err as Error).message})`);
    }
    if (!sig.hasMain) throw new InputError(field, `a script that exports an async function main (${file} has none)`);
    prepared.set(m.id, { file, names: sig.names });
  }
  return prepared;
}

/**
 * Resolve a flow and, depth first, every flow its flow modules run (each `type: flow`
 * module's path names a flow of the same workspace), with their scripts: a missing
 * flow or script, or a flow that runs itself, is an InputError before anything runs.
 */
export async function prepareRun(workspace: string, location: FlowLocation, flow: FlowFile, stack: readonly string[] = []): Promise<PreparedFlow> {
  const chain = [...stack, location.path];
  const steps = await prepareFlow(workspace, location, flow);
  const subflows = new Map<string, PreparedFlow>();
  for (const m of allModules(flow)) {
    if (m.value.type !== "flow") continue;
    const field = `${location.path} step ${m.id}`;
    let child: FlowLocation;
    try {
      child = findFlow(workspace, m.value.path);
    } catch (err) {
      throw new InputError(field, `the path of a flow in the workspace (${(err as Error).message.replace(/\.$/, "")})`);
    }
    if (chain.includes(child.path)) {
      throw new InputError(field, `a flow that does not run itself (${[...chain, child.path].join(" -> ")})`);
    }
    subflows.set(m.id, await prepareRun(workspace, child, readFlowFile(child), chain));
  }
  return { location, flow, steps, subflows };
}

/** Re-raise a sub-flow's input error with the flow module's id in front of its sentence: `step kernel: git_ref: ...`. */
function prefixInputError(stepId: string, err: unknown): unknown {
  if (!(err instanceof InputError)) return err;
  const out = new InputError(`step ${stepId}: ${err.field}`, err.expected);
  out.message = `step ${stepId}: ${err.message}`;
  return out;
}

/** A sub-flow's inputs: the evaluated transforms, checked and defaulted against its form. */
export function childInputs(stepId: string, child: PreparedFlow, args: Record<string, unknown>): Record<string, unknown> {
  try {
    return validateInputs(child.flow.schema, args);
  } catch (err) {
    throw prefixInputError(stepId, err);
  }
}

const RUN_STATE_NAMES = /\b(results|previous_result|result|error|params|variable|resource)\b/;

/**
 * Before anything runs, check the inputs of each top-level flow module whose transforms
 * read only flow_input (and that has no skip_if): its sub-flow's form must accept them,
 * so a bad kernel.git_ref is refused before the workbench step runs. Recurses into the
 * sub-flows with the inputs they would get. Transforms that read earlier results are
 * checked when the module runs.
 */
export async function precheckFlowModules(prepared: PreparedFlow, input: Record<string, unknown>): Promise<void> {
  for (const m of prepared.flow.value.modules) {
    const v = m.value;
    const child = prepared.subflows.get(m.id);
    if (v.type !== "flow" || !child || m.skip_if) continue;
    const transforms = Object.values(v.input_transforms ?? {});
    if (transforms.some((t) => t.type === "javascript" && RUN_STATE_NAMES.test(t.expr))) continue;
    const args: Record<string, unknown> = {};
    let evaluable = true;
    for (const [name, t] of Object.entries(v.input_transforms ?? {})) {
      let value: unknown;
      if (t.type === "static") value = t.value;
      else {
        try {
          value = await evalExpr(t.expr, { flow_input: input, results: {}, previous_result: null, params: {} });
        } catch {
          evaluable = false; // the run reports it, as the step's failure
          break;
        }
      }
      if (value !== undefined) args[name] = toJsonValue(value);
    }
    if (!evaluable) continue;
    const childInput = childInputs(m.id, child, args);
    try {
      await precheckFlowModules(child, childInput);
    } catch (err) {
      throw prefixInputError(m.id, err);
    }
  }
}

/** Input transforms that name no parameter of main: a worker drops them silently, so say so. */
export function unusedInputWarnings(flow: FlowFile, prepared: Map<string, PreparedStep>): string[] {
  const out: string[] = [];
  for (const m of allModules(flow)) {
    const v = m.value;
    if (v.type !== "script" && v.type !== "rawscript") continue;
    const step = prepared.get(m.id);
    if (!step || !step.file) continue;
    for (const key of Object.keys(v.input_transforms ?? {})) {
      if (!step.names.includes(key)) out.push(`step ${m.id}: input ${key} is not a parameter of main (${step.names.join(", ") || "none"}); it is not passed`);
    }
  }
  return out;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? "";
}

function sleep(seconds: number): Promise<void> {
  return new Promise((r) => setTimeout(r, seconds * 1000));
}

interface Stop {
  stepId: string;
  skipIfStopped: boolean;
  errorMessage?: string;
}

interface ModulesOutcome {
  last: unknown;
  stop?: Stop;
}

/** Run folders of runs still going, so that an interrupted CLI can remove them. */
const liveRunDirs = new Set<string>();

/** Remove the run folders of unfinished runs (Ctrl-C), unless KDEVFLOW_KEEP_RUN_DIR keeps them. */
export function removeLiveRunDirs(): void {
  for (const dir of liveRunDirs) rmSync(dir, { recursive: true, force: true });
  liveRunDirs.clear();
}

export class FlowRun {
  readonly flowJobId = randomUUID();
  readonly results: Record<string, unknown> = {};
  readonly steps: StepRecord[] = [];
  private runDir = "";
  private sharedDir = "";
  private prepared = new Map<string, PreparedStep>();
  private subflows = new Map<string, PreparedFlow>();

  /** `parent` is set when this run is a flow module's sub-flow. */
  constructor(
    private readonly opts: RunOptions,
    private readonly parent?: ParentRun,
  ) {}

  private get rootJobId(): string {
    return this.parent?.rootJobId ?? this.flowJobId;
  }

  /** Jobs see ./shared: this flow is same_worker, or it runs inside a flow that is. */
  private get sameWorker(): boolean {
    return this.opts.flow.value.same_worker === true || (this.parent?.sharedDir ?? null) !== null;
  }

  private ctx(previous: unknown, extra: Partial<ExprContext> = {}): ExprContext {
    return { flow_input: this.opts.input, results: this.results, previous_result: previous, ...extra };
  }

  async run(): Promise<FlowOutcome> {
    const started = performance.now();
    const { location, flow, log } = this.opts;
    const parent = this.parent;
    const prepared = parent ? parent.prepared : await prepareRun(this.opts.workspace, location, flow);
    this.prepared = prepared.steps;
    this.subflows = prepared.subflows;
    if (parent) {
      // A sub-flow runs in its parent's run folder and, on one worker, in its shared folder.
      this.runDir = parent.runDir;
      this.sharedDir = parent.sharedDir ?? join(this.runDir, `shared-${this.flowJobId}`);
      if (parent.sharedDir === null && this.sameWorker) await mkdir(this.sharedDir);
    } else {
      await precheckFlowModules(prepared, this.opts.input);
      this.runDir = await mkdtemp(runDirPrefix());
      if (!this.opts.keepRunDir) liveRunDirs.add(this.runDir);
      this.sharedDir = join(this.runDir, "shared");
      if (this.sameWorker) await mkdir(this.sharedDir);
    }
    log(`==> flow ${location.path}${flow.summary ? `: ${flow.summary}` : ""}`);
    log(`    inputs: ${JSON.stringify(this.opts.input)}`);
    for (const w of unusedInputWarnings(flow, this.prepared)) log(`    warning: ${w}`);
    let outcome: Omit<FlowOutcome, "durationMs" | "steps">;
    try {
      // The first step's previous_result is the flow input, as on a worker.
      const out = await this.runModules(flow.value.modules, this.opts.input);
      if (out.stop?.errorMessage !== undefined) {
        const message = `Flow early stop: ${out.stop.errorMessage}`;
        outcome = { status: "failure", result: message, inputError: false };
      } else if (out.stop) {
        outcome = { status: "stopped", result: out.last, inputError: false };
      } else {
        outcome = { status: "success", result: out.last, inputError: false };
      }
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      outcome = await this.handleFailure(err.error);
    } finally {
      if (parent) {
        /* the top-level run removes the run folder */
      } else if (this.opts.keepRunDir) {
        markKept(this.runDir);
        log(`    run folder kept: ${this.runDir}`);
      } else {
        await rm(this.runDir, { recursive: true, force: true });
        liveRunDirs.delete(this.runDir);
      }
    }
    const durationMs = performance.now() - started;
    const word = { success: "succeeded", failure: "failed", stopped: "stopped early" }[outcome.status];
    log(`==> flow ${location.path}: ${word} in ${formatMs(durationMs)}`);
    return { ...outcome, steps: this.steps, durationMs };
  }

  /** The failure module runs with `error`; the flow stays failed unless it returns {recover: true}. */
  private async handleFailure(error: StepError): Promise<Omit<FlowOutcome, "durationMs" | "steps">> {
    const inputError = error.name === "InputError";
    const fm = this.opts.flow.value.failure_module;
    if (!fm) return { status: "failure", result: { error }, error, inputError };
    try {
      const prev = { error };
      const result = await this.runModule(fm, prev, { error });
      const recovered = typeof result.last === "object" && result.last !== null && (result.last as { recover?: unknown }).recover === true;
      return { status: recovered ? "success" : "failure", result: result.last, error, inputError: recovered ? false : inputError };
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      return { status: "failure", result: { error: err.error }, error, inputError };
    }
  }

  private async runModules(modules: FlowModule[], previous: unknown): Promise<ModulesOutcome> {
    let last = previous;
    for (const m of modules) {
      const out = await this.runModule(m, last);
      last = out.last;
      if (out.stop) return out;
    }
    return { last };
  }

  private deadlineMessage(): string {
    return this.parent?.deadlineMessage ?? "the flow module timed out";
  }

  private async runModule(m: FlowModule, previous: unknown, extra: Partial<ExprContext> = {}): Promise<ModulesOutcome> {
    const { log } = this.opts;
    log(`==> step ${m.id}${m.summary ? `: ${m.summary}` : ""}`);
    const started = performance.now();
    if (this.parent?.deadline !== undefined && performance.now() >= this.parent.deadline) {
      this.steps.push({ id: m.id, status: "failure", tries: 0, durationMs: 0 });
      throw new StepFailed({ name: "TimeoutError", message: this.deadlineMessage(), stack: "", step_id: m.id });
    }
    if (m.skip_if) {
      let skip: boolean;
      try {
        skip = await evalPredicate(m.skip_if.expr, this.ctx(previous, { result: previous, ...extra }));
      } catch (err) {
        throw this.fail(m.id, "skip_if", err, started, 1);
      }
      if (skip) {
        this.results[m.id] = null;
        this.steps.push({ id: m.id, status: "skipped", tries: 0, durationMs: 0 });
        log(`<== step ${m.id}: skipped (skip_if is true)`);
        return { last: null };
      }
    }
    const tries = maxTries(m.retry);
    for (let attempt = 1; ; attempt++) {
      const tryStarted = performance.now();
      try {
        const out = await this.execute(m, previous, extra);
        this.results[m.id] = out.last;
        this.steps.push({ id: m.id, status: "success", tries: attempt, durationMs: performance.now() - started });
        log(`<== step ${m.id}: ok in ${formatMs(performance.now() - tryStarted)}${attempt > 1 ? ` (try ${attempt} of ${tries})` : ""}`);
        if (out.stop) return out;
        if (m.stop_after_if) {
          let stop: boolean;
          try {
            stop = await evalPredicate(m.stop_after_if.expr, this.ctx(out.last, { result: out.last }));
          } catch (err) {
            throw this.fail(m.id, "stop_after_if", err, started, attempt);
          }
          if (stop) {
            log(`    stop_after_if is true: the flow ends after step ${m.id}`);
            const errorMessage = m.stop_after_if.error_message;
            return {
              last: out.last,
              stop: {
                stepId: m.id,
                skipIfStopped: m.stop_after_if.skip_if_stopped === true,
                ...(typeof errorMessage === "string" ? { errorMessage: errorMessage || m.stop_after_if.expr } : {}),
              },
            };
          }
        }
        return { last: out.last };
      } catch (err) {
        if (!(err instanceof StepFailed)) throw err;
        const e = err.error;
        log(`<== step ${m.id}: failed in ${formatMs(performance.now() - tryStarted)}: ${e.name}: ${firstLine(e.message)}`);
        const delay = retryDelaySeconds(m.retry, attempt - 1);
        if (delay === null) {
          this.steps.push({ id: m.id, status: "failure", tries: attempt, durationMs: performance.now() - started });
          throw err;
        }
        log(`    retry ${attempt} of ${tries - 1} for step ${m.id} in ${delay} s`);
        if (delay > 0) await sleep(delay);
      }
    }
  }

  private fail(stepId: string, what: string, err: unknown, started: number, tries: number): StepFailed {
    const e = err instanceof Error ? err : new Error(String(err));
    this.steps.push({ id: stepId, status: "failure", tries, durationMs: performance.now() - started });
    this.opts.log(`<== step ${stepId}: ${what} failed: ${e.message}`);
    return new StepFailed({ name: e.name, message: `${what}: ${e.message}`, stack: e.stack ?? "", step_id: stepId });
  }

  private async execute(m: FlowModule, previous: unknown, extra: Partial<ExprContext>): Promise<ModulesOutcome> {
    const v = m.value;
    switch (v.type) {
      case "identity":
        return { last: previous };
      case "branchone": {
        let chosen = -1;
        for (let i = 0; i < v.branches.length; i++) {
          let hit: boolean;
          try {
            hit = await evalPredicate(v.branches[i]!.expr, this.ctx(previous, extra));
          } catch (err) {
            throw this.toStepFailed(m.id, `branch ${i + 1} expression`, err);
          }
          if (hit) {
            chosen = i;
            break;
          }
        }
        const branch = chosen >= 0 ? v.branches[chosen]! : null;
        const label = branch ? `branch ${chosen + 1}${branch.summary ? ` (${branch.summary})` : ""}` : "default branch";
        this.opts.log(`    ${m.id}: ${label} chosen`);
        // A branch with no modules passes the previous result through.
        return this.runModules(branch ? branch.modules ?? [] : v.default ?? [], previous);
      }
      case "script":
      case "rawscript":
        return { last: await this.runScript(m, v, previous, extra) };
      case "flow":
        return { last: await this.runSubflow(m, v, previous, extra) };
    }
  }

  /**
   * A flow module: evaluate its transforms, check them against the sub-flow's form (an
   * InputError naming `step <id>: <field>`), run the sub-flow in this run's folder (and
   * shared folder), and return its result. The sub-flow's failure is this step's failure,
   * with step_id this module's id and the sub-flow's own step in flow_step_id.
   */
  private async runSubflow(m: FlowModule, v: FlowValue, previous: unknown, extra: Partial<ExprContext>): Promise<unknown> {
    const child = this.subflows.get(m.id);
    if (!child) throw new StepFailed({ name: "ExecutionError", message: `flow ${v.path} was not prepared`, stack: "", step_id: m.id });
    const args = await this.argsFor(m, v, previous, extra);
    let input: Record<string, unknown>;
    try {
      input = childInputs(m.id, child, args);
    } catch (err) {
      const e = err as Error;
      throw new StepFailed({ name: e.name, message: e.message, stack: e.stack ?? "", step_id: m.id });
    }
    let deadline = this.parent?.deadline;
    let deadlineMessage = this.parent?.deadlineMessage;
    if (typeof m.timeout === "number" && (deadline === undefined || performance.now() + m.timeout * 1000 < deadline)) {
      deadline = performance.now() + m.timeout * 1000;
      deadlineMessage = `step ${m.id} (flow ${child.location.path}) timed out after ${m.timeout} s and was killed`;
    }
    const run = new FlowRun(
      { ...this.opts, location: child.location, flow: child.flow, input, log: (line) => this.opts.log(`  ${line}`) },
      {
        rootJobId: this.rootJobId,
        runDir: this.runDir,
        sharedDir: this.sameWorker ? this.sharedDir : null,
        prepared: child,
        ...(deadline !== undefined ? { deadline, deadlineMessage: deadlineMessage ?? "" } : {}),
      },
    );
    const outcome = await run.run();
    for (const step of outcome.steps) this.steps.push({ ...step, id: `${m.id}/${step.id}` });
    if (outcome.status !== "failure") return outcome.result ?? null;
    const e = outcome.error;
    if (!e) throw new StepFailed({ name: "ExecutionError", message: `flow ${child.location.path}: ${String(outcome.result)}`, stack: "", step_id: m.id });
    throw new StepFailed({ ...e, message: e.message, step_id: m.id, flow_path: child.location.path, flow_step_id: e.step_id });
  }

  private toStepFailed(stepId: string, what: string, err: unknown): StepFailed {
    const e = err instanceof Error ? err : new Error(String(err));
    return new StepFailed({ name: e.name, message: `${what}: ${e.message}`, stack: e.stack ?? "", step_id: stepId });
  }

  private async argsFor(m: FlowModule, v: ScriptValue | RawScriptValue | FlowValue, previous: unknown, extra: Partial<ExprContext>) {
    const args: Record<string, unknown> = {};
    for (const [name, t] of Object.entries(v.input_transforms ?? {})) {
      let value: unknown;
      if (t.type === "static") value = t.value;
      else {
        try {
          value = await evalExpr(t.expr, this.ctx(previous, { ...extra, params: {} }));
        } catch (err) {
          throw this.toStepFailed(m.id, `input ${name}`, err);
        }
      }
      if (value !== undefined) args[name] = toJsonValue(value);
    }
    return args;
  }

  private async runScript(m: FlowModule, v: ScriptValue | RawScriptValue, previous: unknown, extra: Partial<ExprContext>): Promise<unknown> {
    const args = await this.argsFor(m, v, previous, extra);
    const jobId = randomUUID();
    const jobDir = join(this.runDir, jobId);
    await mkdir(jobDir);
    if (this.sameWorker) await symlink(this.sharedDir, join(jobDir, "shared"));
    let step = this.prepared.get(m.id) ?? { file: "", names: [] };
    if (!step.file && v.type === "rawscript") {
      const file = join(jobDir, "main.ts");
      await writeFile(file, v.content);
      try {
        step = { file, names: (await mainSignatureOf(file)).names };
      } catch (err) {
        throw this.toStepFailed(m.id, "inline code", err);
      }
    }
    const resultFile = join(jobDir, "result.json");
    const jobFile = join(jobDir, "job.json");
    await writeFile(jobFile, JSON.stringify({ module: step.file, names: step.names, args, result: resultFile }));
    const env: Record<string, string> = {};
    for (const [k, val] of Object.entries(this.opts.env ?? process.env)) if (val !== undefined) env[k] = val;
    delete env.WM_TOKEN;
    Object.assign(env, {
      WM_FLOW_PATH: this.opts.location.path,
      WM_FLOW_STEP_ID: m.id,
      WM_JOB_ID: jobId,
      WM_FLOW_JOB_ID: this.flowJobId,
      WM_ROOT_FLOW_JOB_ID: this.rootJobId,
      WM_JOB_PATH: v.type === "script" ? v.path : `${this.opts.location.path}/${m.id}`,
      WM_WORKSPACE: env.WM_WORKSPACE ?? "local",
      KDEVFLOW_LOCAL: "1",
    });
    const ownMs = typeof m.timeout === "number" ? m.timeout * 1000 : undefined;
    const leftMs = this.parent?.deadline !== undefined ? Math.max(1, this.parent.deadline - performance.now()) : undefined;
    const timeoutMs = ownMs === undefined ? leftMs : leftMs === undefined ? ownMs : Math.min(ownMs, leftMs);
    const res = await runJobProcess({
      argv: [this.opts.bun, STEP_HOST, jobFile],
      cwd: jobDir,
      env,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      onLine: (line) => this.opts.log(`  ${line}`),
    });
    const fail = (name: string, message: string) => new StepFailed({ name, message, stack: "", step_id: m.id });
    if (res.timedOut) {
      if (ownMs !== undefined && timeoutMs === ownMs) throw fail("TimeoutError", `step ${m.id} timed out after ${m.timeout} s and was killed`);
      throw fail("TimeoutError", this.deadlineMessage());
    }
    if (res.spawnError) throw fail("ExecutionError", `could not start ${this.opts.bun}: ${res.spawnError}`);
    let outcome: { ok: boolean; result?: unknown; error?: Record<string, unknown> };
    try {
      outcome = JSON.parse(await readFile(resultFile, "utf8"));
    } catch {
      const how = res.signal ? `was killed by ${res.signal}` : `exited with status ${res.exitCode}`;
      throw fail("ExecutionError", `step ${m.id} ${how} without a result`);
    }
    if (outcome.ok) return outcome.result ?? null;
    const e = outcome.error ?? {};
    throw new StepFailed({
      ...e,
      name: typeof e.name === "string" ? e.name : "Error",
      message: typeof e.message === "string" ? e.message : JSON.stringify(e),
      stack: typeof e.stack === "string" ? e.stack : "",
      step_id: m.id,
    });
  }
}

export async function runFlow(opts: RunOptions): Promise<FlowOutcome> {
  return new FlowRun(opts).run();
}
