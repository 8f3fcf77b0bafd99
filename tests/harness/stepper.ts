// Step through a flow one module at a time, in this process, so a test can interleave
// two runs in an order a Windmill server could choose: with `same_worker`, the worker
// may run a step of another flow between two steps of one flow (it hands a result to a
// background processor and pulls the next queued job, windmill-worker/src/worker.rs).
//
// A stepper evaluates each module's skip_if and input transforms with the engine's own
// evaluator (cli/engine/expr.ts), runs a skipped step as an identity job (its result is
// the previous one, as worker_flow.rs does), calls the script's main with the arguments
// in main's order, and gives each run its own Windmill job environment (WM_FLOW_JOB_ID,
// WM_ROOT_FLOW_JOB_ID, WM_FLOW_PATH, WM_JOB_ID), set while its step runs. Script modules
// only: branchone and flow modules are the engine's business (tests/integration/engine-*).

import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { evalPredicate, evalTransforms, type ExprContext } from "../../cli/engine/expr.ts";
import { locateFlow, readFlowFile, type FlowModule } from "../../cli/engine/flow.ts";
import { mainSignatureOf } from "../../cli/engine/params.ts";

export interface StepRecord {
  id: string;
  skipped: boolean;
  result: unknown;
}

export class FlowStepper {
  readonly results: Record<string, unknown> = {};
  readonly done: StepRecord[] = [];
  private readonly modules: FlowModule[];
  private previous: unknown;
  readonly jobId = randomUUID();

  constructor(
    private readonly workspace: string,
    readonly flowPath: string,
    private readonly input: Record<string, unknown>,
    private readonly env: Record<string, string> = {},
  ) {
    const loc = locateFlow(workspace, flowPath);
    if (!loc) throw new Error(`no flow ${flowPath} in ${workspace}`);
    this.modules = readFlowFile(loc).value.modules;
    this.previous = input;
  }

  get finished(): boolean {
    return this.done.length >= this.modules.length;
  }

  /** The next module's id, or null when the flow is done. */
  get nextId(): string | null {
    return this.modules[this.done.length]?.id ?? null;
  }

  private ctx(): ExprContext {
    return { flow_input: this.input, results: this.results, previous_result: this.previous };
  }

  /** Run the next module (with this run's job environment in process.env while it runs). */
  async step(): Promise<StepRecord> {
    const m = this.modules[this.done.length];
    if (!m) throw new Error(`${this.flowPath} has no module left`);
    if (m.value.type !== "script") throw new Error(`the stepper runs script modules only (${m.id} is ${m.value.type})`);
    const saved = { ...process.env };
    Object.assign(process.env, this.env, {
      WM_FLOW_JOB_ID: this.jobId,
      WM_ROOT_FLOW_JOB_ID: this.jobId,
      WM_FLOW_PATH: this.flowPath,
      WM_FLOW_STEP_ID: m.id,
      WM_JOB_ID: randomUUID(),
    });
    try {
      let rec: StepRecord;
      if (m.skip_if && (await evalPredicate(m.skip_if.expr, this.ctx()))) {
        rec = { id: m.id, skipped: true, result: this.previous };
      } else {
        const args = await evalTransforms(m.value.input_transforms, this.ctx());
        const file = join(this.workspace, `${m.value.path}.ts`);
        const { names } = await mainSignatureOf(file);
        const mod = (await import(file)) as { main: (...a: unknown[]) => Promise<unknown> };
        const result = await mod.main(...names.map((n) => (n in args ? args[n] : undefined)));
        rec = { id: m.id, skipped: false, result: JSON.parse(JSON.stringify(result ?? null)) };
      }
      this.results[m.id] = rec.result;
      this.previous = rec.result;
      this.done.push(rec);
      return rec;
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }
}
