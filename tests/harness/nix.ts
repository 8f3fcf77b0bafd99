// An offline Nix for tests and CI: Debian's nix-bin as root with no daemon, no
// sandbox, no substituters and an empty flake registry (without it every command
// spends seconds trying to download the registry). nixTestEnv() writes the config
// once into a folder and returns the environment that selects it. The test flakes are in
// flakes.ts.

import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../f/common/atomic.ts";
import { JOB_ENV_WHITELIST } from "../../f/common/job_env.ts";

export function offlineNixConf(registryPath: string): string {
  return [
    "experimental-features = nix-command flakes",
    "build-users-group =",
    "sandbox = false",
    "substituters =",
    `flake-registry = ${registryPath}`,
    "warn-dirty = false",
    "",
  ].join("\n");
}

const ready = new Map<string, Promise<Record<string, string>>>();

/**
 * Environment for running nix offline; also exported into process.env by setupNixEnv.
 * The files are written atomically: test processes running at the same time share the
 * folder, and a nix reading a half-written nix.conf would go online.
 */
export function nixTestEnv(dir: string = process.env.KDEVFLOW_TEST_NIX_CONF_DIR || join(tmpdir(), "kdevflow-nix-conf")): Promise<Record<string, string>> {
  let env = ready.get(dir);
  if (!env) {
    env = (async () => {
      const registry = join(dir, "registry.json");
      await writeFileAtomic(registry, JSON.stringify({ flakes: [], version: 2 }));
      await writeFileAtomic(join(dir, "nix.conf"), offlineNixConf(registry));
      return { NIX_CONF_DIR: dir };
    })();
    ready.set(dir, env);
  }
  return env;
}

/**
 * Put the offline Nix configuration into this process's environment, and pass it on to
 * the jobs of the local engine, which clears a job's environment as a Windmill worker
 * does: WHITELIST_ENVS is kdevflow's list plus NIX_CONF_DIR, as on a worker whose Nix
 * configuration lives outside /etc/nix.
 */
export async function setupNixEnv(): Promise<Record<string, string>> {
  const env = { ...(await nixTestEnv()), WHITELIST_ENVS: [...JOB_ENV_WHITELIST, "NIX_CONF_DIR"].join(",") };
  Object.assign(process.env, env);
  return env;
}
