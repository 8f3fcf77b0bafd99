// What a failed refresh reports: the schedule f/workbench/refresh ran f/workbench/fetch,
// the flow failed, and the server called the schedule's error handler
// (report_refresh_failure.ts) with the failed job's error and where it came from. Pure:
// the handler prints the line and returns the summary.

/** The error of the failed job, as the server passes it (a flow's carries the failing step). */
export interface JobError {
  name?: string | null;
  message?: string | null;
  step_id?: string | null;
  stack?: string | null;
}

/** The arguments the server passes to a schedule's error handler (backend windmill-queue/src/jobs.rs, push_error_handler). */
export interface FailedRun {
  path: string | null;
  schedule_path: string | null;
  error: JobError | string | null;
  started_at: string | null;
  failed_times: number | null;
  workspace_id: string | null;
  job_id: string | null;
  is_flow: boolean | null;
  email: string | null;
}

export interface RefreshFailure {
  schedule: string;
  flow: string;
  job: string | null;
  started_at: string | null;
  /** How many runs in a row have failed, when the server counts them. */
  failed_times: number | null;
  /** The flow step that failed, when the error names it. */
  step: string | null;
  error: string;
  /** One line for the job log and for whoever reads the result. */
  summary: string;
}

const text = (v: unknown): string | null => (typeof v === "string" && v.trim() ? v.trim() : null);

/** The summary of a failed refresh. Unset arguments (null on a server) are left out, never guessed. */
export function refreshFailure(run: FailedRun): RefreshFailure {
  const err = run.error;
  const message = typeof err === "string" ? text(err) : (text(err?.message) ?? text(err?.name));
  const step = typeof err === "object" && err ? text(err.step_id) : null;
  const schedule = text(run.schedule_path) ?? "(no schedule)";
  const flow = text(run.path) ?? "(unknown flow)";
  const failedTimes = typeof run.failed_times === "number" ? run.failed_times : null;
  const parts = [
    `${schedule}: ${flow} failed`,
    step ? `at step ${step}` : null,
    text(run.started_at) ? `(run started ${text(run.started_at)}` + (text(run.job_id) ? `, job ${text(run.job_id)})` : ")") : text(run.job_id) ? `(job ${text(run.job_id)})` : null,
    failedTimes && failedTimes > 1 ? `${failedTimes} runs in a row` : null,
  ].filter(Boolean);
  const error = message ?? "no error message";
  return {
    schedule,
    flow,
    job: text(run.job_id),
    started_at: text(run.started_at),
    failed_times: failedTimes,
    step,
    error,
    summary: `${parts.join(" ")}: ${error}`,
  };
}
