// One script job, as a worker runs it: a folder of its own (with ./shared linked to the
// run's shared folder when the flow runs on one worker), a job file with main's
// arguments, a Bun process running step_host.ts with the job environment, and the
// outcome read from the result file. A timeout kills the job's process group.

import { randomUUID } from "node:crypto";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { jobLimit, type Deadline } from "./deadline.ts";
import { jobEnvironment, type EngineEnv, type JobIdentity } from "./job_env.ts";
import { runJobProcess } from "./job.ts";
import { engineError, failure, success, type ErrorObject, type Outcome } from "./outcome.ts";
import { mainSignatureOf } from "./params.ts";
import type { PreparedStep } from "./prepare.ts";

export const STEP_HOST = resolve(import.meta.dirname, "step_host.ts");

export interface ScriptJob {
  /** The module to run; file "" with `code` for a rawscript given as literal code. */
  step: PreparedStep;
  code?: string;
  args: Record<string, unknown>;
  /** Everything but the job id, which each job gets new unless given. */
  identity: Omit<JobIdentity, "jobId">;
  jobId?: string;
  /** The folder the job's folder is made in (the run folder). */
  runDir: string;
  /** The shared folder its ./shared links to, or null without same_worker. */
  sharedDir: string | null;
  deadline?: Deadline;
}

export interface JobHost {
  bun: string;
  env: EngineEnv;
  log: (line: string) => void;
}

export async function runScriptJob(job: ScriptJob, host: JobHost): Promise<Outcome> {
  const jobId = job.jobId ?? randomUUID();
  const stepId = job.identity.stepId;
  const jobDir = join(job.runDir, jobId);
  await mkdir(jobDir);
  if (job.sharedDir !== null) await symlink(job.sharedDir, join(jobDir, "shared"));
  let step = job.step;
  if (!step.file && job.code !== undefined) {
    const file = join(jobDir, "main.ts");
    await writeFile(file, job.code);
    try {
      step = { file, names: (await mainSignatureOf(file)).names };
    } catch (err) {
      return failure(engineError("ExecutionErr", `inline code: ${(err as Error).message}`, stepId));
    }
  }
  const resultFile = join(jobDir, "result.json");
  const jobFile = join(jobDir, "job.json");
  await writeFile(jobFile, JSON.stringify({ module: step.file, names: step.names, args: job.args, result: resultFile }));
  const limit = jobLimit(job.deadline, performance.now());
  const res = await runJobProcess({
    argv: [host.bun, STEP_HOST, jobFile],
    cwd: jobDir,
    env: jobEnvironment(host.env, { ...job.identity, jobId }),
    ...(limit ? { timeoutMs: limit.timeoutMs } : {}),
    onLine: (line) => host.log(`  ${line}`),
  });
  if (res.timedOut) return failure(engineError("TimeoutError", limit?.message ?? "timed out", stepId));
  if (res.spawnError) return failure(engineError("ExecutionErr", `could not start ${host.bun}: ${res.spawnError}`, stepId));
  let written: { ok: boolean; result?: unknown; error?: ErrorObject };
  try {
    written = JSON.parse(await readFile(resultFile, "utf8"));
  } catch {
    const how = res.signal ? `was killed by ${res.signal}` : `exited with status ${res.exitCode}`;
    return failure(engineError("ExecutionErr", `step ${stepId} ${how} without a result`, stepId));
  }
  return written.ok ? success(written.result ?? null) : failure(written.error ?? {});
}
