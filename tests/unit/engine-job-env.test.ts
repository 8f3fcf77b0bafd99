// The job environment (cli/engine/job_env.ts): what a job's process starts with, built
// as a Windmill worker builds it for a Bun job (backend windmill-worker/src/bun_executor.rs,
// handle_bun_job and get_common_bun_proc_envs; windmill-common/src/worker.rs,
// load_whitelist_env_vars_from_env and load_env_vars; windmill-common/src/variables.rs,
// get_reserved_variables). And the whitelist itself (f/common/job_env.ts): the README's
// WHITELIST_ENVS line equals it, and every variable a module under f/ reads is in it.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { jobEnvironment, whitelistOf, type JobIdentity } from "../../cli/engine/job_env.ts";
import { JOB_ENV_WHITELIST, whitelistEnvsValue } from "../../f/common/job_env.ts";

const REPO = resolve(import.meta.dirname, "../..");

const id: JobIdentity = {
  jobId: "j1",
  jobPath: "f/x/step",
  flowPath: "f/x/flow",
  flowJobId: "fj",
  rootFlowJobId: "fj",
  rootJobId: "root",
  stepId: "step",
  schedulePath: "",
};

const wm = {
  WM_WORKSPACE: "local",
  WM_BASE_URL: "",
  WM_JOB_ID: "j1",
  WM_JOB_PATH: "f/x/step",
  WM_FLOW_JOB_ID: "fj",
  WM_ROOT_FLOW_JOB_ID: "fj",
  WM_ROOT_JOB_ID: "root",
  WM_FLOW_PATH: "f/x/flow",
  WM_FLOW_STEP_ID: "step",
  WM_SCHEDULE_PATH: "",
  WM_WORKER_GROUP: "default",
};

describe("whitelistOf: the names WHITELIST_ENVS gives", () => {
  it("defaults to kdevflow's list, as on a worker configured for it", () => {
    expect(whitelistOf({})).toEqual([...JOB_ENV_WHITELIST]);
  });
  it.each([
    ["a list, sorted and without repeats", "B,A,B", ["A", "B"]],
    ["split on commas, nothing trimmed", "A, B", [" B", "A"]],
    ["empty names skipped", ",A,,", ["A"]],
    ["empty: nothing", "", []],
  ])("%s", (_name, value, names) => {
    expect(whitelistOf({ WHITELIST_ENVS: value })).toEqual(names);
  });
});

describe("jobEnvironment", () => {
  it("is PATH, HOME, TZ, the WM_* variables and the whitelist, nothing else from the engine", () => {
    const env = jobEnvironment({ PATH: "/bin", HOME: "/home/me", TZ: "UTC", WHITELIST_ENVS: "SYSTEM_DIR,WORKER_INDEX", SYSTEM_DIR: "/sys", SECRET: "s", WM_TOKEN: "t", LANG: "C" }, id);
    expect(env).toEqual({ ...wm, SYSTEM_DIR: "/sys", WORKER_INDEX: "", PATH: "/bin", HOME: "/home/me", TZ: "UTC" });
  });

  it("gives a whitelisted name the engine does not have as an empty string, as load_env_vars does", () => {
    const env = jobEnvironment({ PATH: "/bin", HOME: "/h" }, id);
    for (const name of JOB_ENV_WHITELIST) expect(env[name]).toBe("");
  });

  it("HOME falls back to /tmp, TZ and PATH to empty, as the worker's HOME_ENV, TZ_ENV, PATH_ENV", () => {
    const env = jobEnvironment({ WHITELIST_ENVS: "" }, id);
    expect({ PATH: env.PATH, HOME: env.HOME, TZ: env.TZ }).toEqual({ PATH: "", HOME: "/tmp", TZ: "" });
  });

  it("passes BASE_URL (and WM_BASE_URL) when the engine has one", () => {
    const env = jobEnvironment({ WHITELIST_ENVS: "", BASE_URL: "http://127.0.0.1:8000" }, id);
    expect(env.BASE_URL).toBe("http://127.0.0.1:8000");
    expect(env.WM_BASE_URL).toBe("http://127.0.0.1:8000");
  });

  it("a whitelisted variable overrides a WM_* one; PATH, HOME and TZ override the whitelist (build_envs_map, then the Bun envs)", () => {
    const env = jobEnvironment({ WHITELIST_ENVS: "WM_WORKER_GROUP,HOME", WM_WORKER_GROUP: "kdevflow", HOME: "/h" }, id);
    expect(env.WM_WORKER_GROUP).toBe("kdevflow");
    expect(env.HOME).toBe("/h");
  });

  it("a script run on its own has the flow variables empty", () => {
    const env = jobEnvironment({ WHITELIST_ENVS: "" }, { ...id, flowPath: "", flowJobId: "", rootFlowJobId: "", rootJobId: "j1", stepId: "" });
    expect(env).toMatchObject({ WM_FLOW_PATH: "", WM_FLOW_JOB_ID: "", WM_ROOT_FLOW_JOB_ID: "", WM_FLOW_STEP_ID: "", WM_ROOT_JOB_ID: "j1" });
  });
});

describe("the whitelist", () => {
  it("equals the README's WHITELIST_ENVS line", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const lines = readme.split("\n").filter((l) => l.startsWith("WHITELIST_ENVS="));
    expect(lines).toEqual([`WHITELIST_ENVS=${whitelistEnvsValue()}`]);
  });

  it("holds every environment variable a module under f/ reads (beyond what every job gets)", () => {
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (name.endsWith(".ts")) {
          for (const m of readFileSync(full, "utf8").matchAll(/\benv(?:\.|\[["'])([A-Z][A-Z0-9_]*)\b/g)) read.add(m[1]!);
        }
      }
    };
    walk(join(REPO, "f"));
    // KDEVFLOW_LINEAGE is kdevflow's own: each process that starts commands sets it for them (f/common/proc.ts).
    const everyJob = (n: string) => ["PATH", "HOME", "TZ", "BASE_URL", "KDEVFLOW_LINEAGE"].includes(n) || n.startsWith("WM_");
    const missing = [...read].filter((n) => !everyJob(n) && !JOB_ENV_WHITELIST.includes(n)).sort();
    expect(missing).toEqual([]);
    // The scan finds what it should: the layout's variables at least.
    expect([...read]).toEqual(expect.arrayContaining(["SYSTEM_DIR", "WORKERS_DIR", "WORKER_INDEX", "KDEVFLOW_NIX_OPTIONS", "XDG_RUNTIME_DIR"]));
  });
});
