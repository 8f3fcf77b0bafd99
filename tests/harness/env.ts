// A test file's own Workbench in this process's environment: the layout variables a
// step reads are cleared, KDEVFLOW_WORKBENCH points at the test's folder, and the
// returned function puts the environment back as it was.

import type { Env } from "../../f/common/layout.ts";

/** What the steps read to find the Workbench and the library. */
export const WORKBENCH_ENV_KEYS = ["KDEVFLOW_WORKBENCH", "KDEVFLOW_NIXOS_FLAKE", "SYSTEM_DIR", "WORKERS_DIR", "WORKER_INDEX"] as const;

export function useWorkbenchEnv(workbench: string, env: Env = process.env): () => void {
  const saved = Object.fromEntries(WORKBENCH_ENV_KEYS.map((k) => [k, env[k]]));
  for (const k of WORKBENCH_ENV_KEYS) delete env[k];
  env.KDEVFLOW_WORKBENCH = workbench;
  return () => {
    for (const k of WORKBENCH_ENV_KEYS) {
      if (saved[k] === undefined) delete env[k];
      else env[k] = saved[k];
    }
  };
}
