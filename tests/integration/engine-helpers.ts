// Shared by the engine's integration tests: run the real ./kdevflow launcher (Bun, real
// step processes) against the fixture workspace, with a fresh marker folder in which
// every fixture step records that it ran. The engine clears each job's environment as a
// worker does, so the marker folder reaches the steps through WHITELIST_ENVS, as a
// worker variable would.

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { JOB_ENV_WHITELIST } from "../../f/common/job_env.ts";

export const REPO = resolve(import.meta.dirname, "../..");
export const LAUNCHER = join(REPO, "kdevflow");
export const FIXTURE_WORKSPACE = join(REPO, "tests/fixtures/engine-workspace");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Labels of the fixture steps that ran, with how many times each ran. */
  ran: Record<string, number>;
  markers: string;
  ms: number;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The runs' cache of main signatures, private to this test process (not ~/.cache). */
export const CACHE_DIR = tempDir("kdevflow-test-cache-");
process.on("exit", () => rmSync(CACHE_DIR, { recursive: true, force: true }));

export function markersIn(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync(dir)) {
    out[name] = readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean).length;
  }
  return out;
}

/** kdevflow's whitelist plus the marker folder: what the engine tests run with unless they say otherwise. */
export const TEST_WHITELIST = [...JOB_ENV_WHITELIST, "ENGINE_TEST_MARKERS"].join(",");

/** Run `kdevflow <args>` on the fixture workspace (unless args name another); an env value undefined removes the variable. */
export function kdevflow(
  args: string[],
  opts: { env?: Record<string, string | undefined>; stdin?: string; workspace?: string | null; cwd?: string } = {},
): Promise<CliRun> {
  const markers = tempDir("kdevflow-markers-");
  const ws = opts.workspace === null ? [] : ["--workspace", opts.workspace ?? FIXTURE_WORKSPACE];
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    // BASE_URL is vitest's own ("/"), not a Windmill server's: the engine would pass it on.
    const env: Record<string, string | undefined> = { ...process.env, BASE_URL: undefined, ENGINE_TEST_MARKERS: markers, KDEVFLOW_CACHE_DIR: CACHE_DIR, WHITELIST_ENVS: TEST_WHITELIST, ...opts.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn(LAUNCHER, [...args, ...ws], {
      cwd: opts.cwd ?? REPO,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.stdin.end(opts.stdin ?? "");
    child.on("close", (code) => {
      const ran = markersIn(markers);
      rmSync(markers, { recursive: true, force: true });
      resolvePromise({ code, stdout, stderr, ran, markers, ms: performance.now() - started });
    });
  });
}

/** The flow result a successful or failed run printed on stdout. */
export function resultOf(run: CliRun): unknown {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\n--- stderr:\n${run.stderr}`);
  }
}
