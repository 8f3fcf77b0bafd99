// The report of a failed scheduled refresh (f/workbench/refresh_failure.ts), built from
// the arguments the server passes to the schedule's error handler.

import { describe, expect, it } from "vitest";
import { main } from "../../f/workbench/report_refresh_failure.ts";
import { refreshFailure, type FailedRun } from "../../f/workbench/refresh_failure.ts";

const RUN: FailedRun = {
  path: "f/workbench/fetch",
  schedule_path: "f/workbench/refresh",
  error: { name: "CommandError", message: "command exited with status 128: git fetch --prune origin", step_id: "sync_mirrors", stack: "at run" },
  started_at: "2026-12-01T03:00:00Z",
  failed_times: 1,
  workspace_id: "kdev",
  job_id: "0190-aaaa",
  is_flow: true,
  email: "schedule@example.invalid",
};

describe("refreshFailure", () => {
  it("names the schedule, the flow, the failed step, when the run started and the error in one line", () => {
    const r = refreshFailure(RUN);
    expect(r.summary).toBe("f/workbench/refresh: f/workbench/fetch failed at step sync_mirrors (run started 2026-12-01T03:00:00Z, job 0190-aaaa): command exited with status 128: git fetch --prune origin");
    expect(r).toMatchObject({ schedule: "f/workbench/refresh", flow: "f/workbench/fetch", step: "sync_mirrors", job: "0190-aaaa", failed_times: 1 });
  });

  it("says how many runs in a row failed when the server counts more than one", () => {
    expect(refreshFailure({ ...RUN, failed_times: 3 }).summary).toContain("3 runs in a row");
  });

  it("leaves out what the server did not pass (null on a server), guessing nothing", () => {
    const r = refreshFailure({ path: null, schedule_path: null, error: null, started_at: null, failed_times: null, workspace_id: null, job_id: null, is_flow: null, email: null });
    expect(r.summary).toBe("(no schedule): (unknown flow) failed: no error message");
    expect(r.step).toBeNull();
  });

  it("takes an error that is a bare string (a non-object result is passed as error)", () => {
    expect(refreshFailure({ ...RUN, error: "boom" }).error).toBe("boom");
  });
});

describe("the handler's main", () => {
  it("returns the report and prints its line to the job log", async () => {
    const lines: string[] = [];
    const saved = console.error;
    console.error = (...a: unknown[]) => void lines.push(a.join(" "));
    try {
      const r = await main(RUN.path!, RUN.schedule_path!, RUN.error as object, RUN.started_at!, 2, "kdev", "0190-aaaa", true, "x@example.invalid");
      expect(r.failed_times).toBe(2);
      expect(lines[0]).toBe(r.summary);
      expect(lines[1]).toBe("at run");
    } finally {
      console.error = saved;
    }
  });
});
