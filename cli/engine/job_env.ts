// The environment a job's process starts with, as a Windmill worker builds it for a Bun
// job (backend windmill-worker/src/bun_executor.rs, handle_bun_job: `env_clear()`, then
// the reserved variables, then get_common_bun_proc_envs). Pure: a function of the
// engine's own environment and the job's identity.
//
//   1. the WM_* variables (windmill-common/src/variables.rs, get_reserved_variables);
//      every one is set, "" when it does not apply (WM_FLOW_JOB_ID of a script run);
//   2. the worker variables WHITELIST_ENVS names (windmill-common/src/worker.rs,
//      load_whitelist_env_vars_from_env + load_env_vars): split on "," as written, each
//      with the engine's value, or "" when the engine does not have it; they are added
//      after the WM_* ones (windmill-worker/src/common.rs, build_envs_map);
//   3. PATH, HOME (else /tmp), TZ (else "") and BASE_URL from the worker, last.
//
// WHITELIST_ENVS is read from the engine's environment, as a worker reads its own; when
// it is not set the engine behaves as a worker configured for kdevflow (docs/deploy.md):
// the list in f/common/job_env.ts. Not passed, unlike on a worker: WM_TOKEN (there is no
// server to call; windmill-client calls are guarded by f/common/progress.ts), FORCE_COLOR,
// DO_NOT_TRACK and the BUN_* cache settings (Bun's own; no step reads them).

import { JOB_ENV_WHITELIST } from "../../f/common/job_env.ts";

export type EngineEnv = Record<string, string | undefined>;

/** Who a job is: the values of its WM_* variables. */
export interface JobIdentity {
  jobId: string;
  /** The script path, or `<flow path>/<step id>` for an inline step (runnable_path). */
  jobPath: string;
  /** The flow the job is a step of ("" for a script run on its own). */
  flowPath: string;
  flowJobId: string;
  /** The innermost root flow: a sub-flow's own job id for its steps. */
  rootFlowJobId: string;
  /** The job that started it all (the top-level flow, or the script itself). */
  rootJobId: string;
  stepId: string;
  /** The schedule that started the run, "" otherwise. */
  schedulePath: string;
}

/** The names WHITELIST_ENVS gives, as a worker splits them: on ",", nothing trimmed; empty names skipped. */
export function whitelistOf(env: EngineEnv): string[] {
  const raw = env.WHITELIST_ENVS;
  if (raw === undefined) return [...JOB_ENV_WHITELIST];
  return [...new Set(raw.split(",").filter((name) => name !== ""))].sort();
}

/** The WM_* variables of a job. */
export function reservedVariables(env: EngineEnv, id: JobIdentity): Record<string, string> {
  return {
    WM_WORKSPACE: env.WM_WORKSPACE || "local",
    WM_BASE_URL: env.BASE_URL ?? "",
    WM_JOB_ID: id.jobId,
    WM_JOB_PATH: id.jobPath,
    WM_FLOW_JOB_ID: id.flowJobId,
    WM_ROOT_FLOW_JOB_ID: id.rootFlowJobId,
    WM_ROOT_JOB_ID: id.rootJobId,
    WM_FLOW_PATH: id.flowPath,
    WM_FLOW_STEP_ID: id.stepId,
    WM_SCHEDULE_PATH: id.schedulePath,
    WM_WORKER_GROUP: "default",
  };
}

/** The whole environment of one job's process. */
export function jobEnvironment(env: EngineEnv, id: JobIdentity): Record<string, string> {
  const out: Record<string, string> = reservedVariables(env, id);
  for (const name of whitelistOf(env)) out[name] = env[name] ?? "";
  out.PATH = env.PATH ?? "";
  out.HOME = env.HOME ?? "/tmp";
  out.TZ = env.TZ ?? "";
  if (env.BASE_URL !== undefined) out.BASE_URL = env.BASE_URL;
  return out;
}
