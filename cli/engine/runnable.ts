// What a path given to `kdevflow run` or `kdevflow schedule run` names in the workspace:
// a flow (`f/x/y` is `f/x/y__flow/flow.yaml`), a script (`f/x/y` is `f/x/y.ts` with its
// `f/x/y.script.yaml`), or a schedule (`f/x/y` is `f/x/y.schedule.yaml`), as
// `wmill sync push` maps files to Windmill paths.

import { existsSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { InputError } from "../../f/common/errors.ts";
import { listFlows, locateFlow, normaliseFlowPath, parseYaml, unknownFlowMessage, walkWorkspace, type FlowLocation } from "./flow.ts";
import type { FormSchema } from "./schema.ts";

/** A script of the workspace: its Windmill path, its file, and its metadata (form) if it has any. */
export interface ScriptLocation {
  path: string;
  file: string;
  summary?: string;
  description?: string;
  schema?: FormSchema;
}

export type Runnable = { kind: "flow"; location: FlowLocation } | { kind: "script"; script: ScriptLocation };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `f/pipeline/publish` and `f/pipeline/publish.ts` name the script f/pipeline/publish; null for what cannot be one. */
export function normaliseScriptPath(input: string): string | null {
  return normaliseFlowPath(input.trim().replace(/\.ts$/, ""));
}

function readMetadata(file: string): Record<string, unknown> {
  try {
    const doc = parseYaml(readFileSync(file, "utf8"));
    return isObject(doc) ? doc : {};
  } catch (err) {
    throw new InputError(file, `valid YAML (${String((err as Error).message).split("\n")[0]})`);
  }
}

/** The script at a Windmill path, if its `.ts` exists. */
export function locateScript(workspace: string, path: string): ScriptLocation | null {
  const file = join(workspace, `${path}.ts`);
  if (!existsSync(file)) return null;
  const metaFile = join(workspace, `${path}.script.yaml`);
  const meta = existsSync(metaFile) ? readMetadata(metaFile) : {};
  return {
    path,
    file,
    ...(typeof meta.summary === "string" ? { summary: meta.summary } : {}),
    ...(typeof meta.description === "string" ? { description: meta.description } : {}),
    ...(isObject(meta.schema) ? { schema: meta.schema as FormSchema } : {}),
  };
}

/** The Windmill paths of the files under f/ and u/ whose names end with `suffix` (the suffix cut off), sorted. */
function pathsEnding(workspace: string, suffix: string): string[] {
  const found: string[] = [];
  walkWorkspace(workspace, (full, name, isDir) => {
    if (!isDir && name.endsWith(suffix)) found.push(relative(workspace, full.slice(0, -suffix.length)).split(sep).join("/"));
    return false;
  });
  return found.sort();
}

/** True when the code exports a `main` (a script); a library module has metadata too but no main. Pure. */
export function exportsMain(code: string): boolean {
  return /^export\s+(async\s+)?function\s+main\s*\(/m.test(code);
}

/** Every script of the workspace: a `.ts` that exports `main`, with a `.script.yaml` beside it, by path. */
export function listScripts(workspace: string): string[] {
  return pathsEnding(workspace, ".script.yaml").filter((p) => {
    const file = join(workspace, `${p}.ts`);
    return existsSync(file) && exportsMain(readFileSync(file, "utf8"));
  });
}

/** The flow, else the script, a path names; else the sentence naming the closest of either. */
export function findRunnable(workspace: string, wanted: string): Runnable {
  const flowPath = normaliseFlowPath(wanted);
  const scriptPath = normaliseScriptPath(wanted);
  if (flowPath === null && scriptPath === null) throw new InputError(`path ${JSON.stringify(wanted)}`, "a flow or script path like f/<folder>/<name>");
  const flow = flowPath === null ? null : locateFlow(workspace, flowPath);
  if (flow) return { kind: "flow", location: flow };
  const script = scriptPath === null ? null : locateScript(workspace, scriptPath);
  if (script) return { kind: "script", script };
  const known = [...listFlows(workspace).map((f) => f.path), ...listScripts(workspace)].sort();
  throw unknownFlowMessage(flowPath ?? scriptPath!, known, "flow or script");
}

/** A schedule: what it runs and with which arguments (windmill-queue/src/schedule.rs reads `args` as the job's arguments). */
export interface Schedule {
  path: string;
  /** The flow or script it runs. */
  target: string;
  isFlow: boolean;
  args: Record<string, unknown>;
}

export function listSchedules(workspace: string): string[] {
  return pathsEnding(workspace, ".schedule.yaml");
}

/** Read `<path>.schedule.yaml`; its `args` must be an object, as the server requires ("args of scripts needs to be dict"). */
export function readSchedule(workspace: string, wanted: string): Schedule {
  const path = normaliseFlowPath(wanted.trim().replace(/\.schedule\.yaml$/, ""));
  if (path === null) throw new InputError(`schedule ${JSON.stringify(wanted)}`, "a schedule path like f/<folder>/<name>");
  const file = join(workspace, `${path}.schedule.yaml`);
  if (!existsSync(file)) throw unknownFlowMessage(path, listSchedules(workspace), "schedule");
  const doc = readMetadata(file);
  const field = (key: string) => `schedule ${path} ${key}`;
  if (typeof doc.script_path !== "string" || doc.script_path === "") throw new InputError(field("script_path"), "the path of the flow or script it runs", doc.script_path);
  if (doc.is_flow !== undefined && typeof doc.is_flow !== "boolean") throw new InputError(field("is_flow"), "true or false", doc.is_flow);
  if (doc.args !== undefined && doc.args !== null && !isObject(doc.args)) throw new InputError(field("args"), "an object of arguments", doc.args);
  return { path, target: doc.script_path, isFlow: doc.is_flow === true, args: isObject(doc.args) ? doc.args : {} };
}

/** One line of `kdevflow list`: a flow, a script or a schedule, and its summary. */
export interface Listed {
  path: string;
  kind: "flow" | "script" | "schedule";
  summary: string;
}

/** Everything `kdevflow run` and `kdevflow schedule run` can start: flows, then scripts, then schedules, each by path. */
export function listRunnables(workspace: string, flowSummary: (loc: FlowLocation) => string): Listed[] {
  const summaryOf = (file: string): string => {
    try {
      const doc = readMetadata(file);
      return typeof doc.summary === "string" ? doc.summary : "";
    } catch {
      return "(not valid YAML)";
    }
  };
  return [
    ...listFlows(workspace).map((loc) => ({ path: loc.path, kind: "flow" as const, summary: flowSummary(loc) })),
    ...listScripts(workspace).map((path) => ({ path, kind: "script" as const, summary: summaryOf(join(workspace, `${path}.script.yaml`)) })),
    ...listSchedules(workspace).map((path) => ({ path, kind: "schedule" as const, summary: summaryOf(join(workspace, `${path}.schedule.yaml`)) })),
  ];
}
