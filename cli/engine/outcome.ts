// What a job, a module or a flow ends with, in the shapes a Windmill server stores. Pure.
//
// - A failed job's result is `{error: {message, name, stack, step_id, extra}}`: the Bun
//   wrapper writes the error object (backend windmill-worker/src/bun_executor.rs, the
//   wrapper's catch: the error's own fields other than name, message, stack, line,
//   column go under `extra`), and the queue wraps it (windmill-queue/src/jobs.rs,
//   WrappedError).
// - A failed flow's result is that of its failed step, or of its failure module, which
//   recovers the flow when its result has `recover: true`
//   (windmill-worker/src/worker_flow.rs, result_has_recover_true).
// - `stop_after_if` with an error message fails the step with
//   `{error: {name: "EarlyStopError", message}}` (worker_flow.rs,
//   update_flow_status_after_job_completion_internal; get_stop_after_if_data).

import type { StopAfterIf } from "./flow.ts";

/** An error as a failed job's result carries it. */
export interface ErrorObject {
  name?: string;
  message?: string;
  stack?: string;
  step_id?: string;
  extra?: Record<string, unknown>;
  [key: string]: unknown;
}

/** How a job, a module or a flow ended: its result, and whether it succeeded. */
export interface Outcome {
  ok: boolean;
  result: unknown;
}

export function success(result: unknown): Outcome {
  return { ok: true, result };
}

/** A failure with this error: the result is `{error}`. */
export function failure(error: ErrorObject): Outcome {
  return { ok: false, result: { error } };
}

/** An error the engine itself raises for a step (an expression that threw, a timeout, a process that died). */
export function engineError(name: string, message: string, stepId: string): ErrorObject {
  return { message, name, step_id: stepId };
}

/** The error a failed result holds, if it has the `{error: {...}}` shape. */
export function errorOf(result: unknown): ErrorObject | undefined {
  if (typeof result !== "object" || result === null || Array.isArray(result)) return undefined;
  const e = (result as { error?: unknown }).error;
  return typeof e === "object" && e !== null && !Array.isArray(e) ? (e as ErrorObject) : undefined;
}

/** True when a failure module's result recovers the flow. */
export function hasRecoverTrue(result: unknown): boolean {
  return typeof result === "object" && result !== null && (result as { recover?: unknown }).recover === true;
}

/**
 * What a true stop_after_if does: `skip_if_stopped` wins and stops cleanly; else an
 * `error_message` (an empty one reads `stop after if: <expr>`) fails with EarlyStopError,
 * keeping the step's result under `error.result` when `error_include_result` says so;
 * else the flow stops cleanly with the step's result.
 */
export function stopAfterIfOutcome(stop: StopAfterIf, stepResult: unknown): { clean: true } | { clean: false; error: ErrorObject } {
  if (stop.skip_if_stopped === true || stop.error_message === undefined || stop.error_message === null) return { clean: true };
  const message = stop.error_message === "" ? `stop after if: ${stop.expr}` : stop.error_message;
  const error: ErrorObject = { name: "EarlyStopError", message };
  if (stop.error_include_result === true) error.result = stepResult;
  return { clean: false, error };
}
