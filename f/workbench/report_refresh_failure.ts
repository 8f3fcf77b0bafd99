// The error handler of the schedule f/workbench/refresh (its `on_failure`): when a
// scheduled refresh fails, the server runs this with the failed job's error and where it
// came from, and its log line and result say which flow and step failed, when, and why.
// The arguments are exactly those the server passes to a schedule error handler (backend
// windmill-queue/src/jobs.rs, push_error_handler: the failed job's result, which holds
// `error`, plus schedule_path, workspace_id, job_id, path, is_flow, started_at, email and
// failed_times); a test keeps them so. Schedule error handlers run on Windmill Enterprise
// Edition servers only (docs/deploy.md).

import { refreshFailure, type RefreshFailure } from "./refresh_failure.ts";

export async function main(
  path: string,
  schedule_path: string,
  error: { name?: string; message?: string; step_id?: string; stack?: string },
  started_at: string,
  failed_times: number = 1,
  workspace_id: string = "",
  job_id: string = "",
  is_flow: boolean = true,
  email: string = "",
): Promise<RefreshFailure> {
  const report = refreshFailure({ path, schedule_path, error, started_at, failed_times, workspace_id, job_id, is_flow, email });
  console.error(report.summary);
  if (typeof error?.stack === "string" && error.stack.trim()) console.error(error.stack.trim());
  return report;
}
