// The flow file as the engine sees it: types for the parts of Windmill's OpenFlow format
// the local runner implements, the map from a flow path to its flow.yaml, the list of
// flows in a workspace, and a structural check of a loaded flow before anything runs.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve, sep } from "node:path";
import { InputError } from "../../f/common/errors.ts";
import type { FormSchema } from "./schema.ts";

export type InputTransform =
  | { type: "static"; value?: unknown }
  | { type: "javascript"; expr: string };

export interface ScriptValue {
  type: "script";
  path: string;
  input_transforms?: Record<string, InputTransform>;
}

export interface RawScriptValue {
  type: "rawscript";
  content: string;
  language?: string;
  input_transforms?: Record<string, InputTransform>;
}

export interface Branch {
  summary?: string;
  expr: string;
  modules: FlowModule[];
}

export interface BranchOneValue {
  type: "branchone";
  branches: Branch[];
  default: FlowModule[];
}

export interface IdentityValue {
  type: "identity";
}

/** Another flow of the workspace, run as one step: its result is this module's result. */
export interface FlowValue {
  type: "flow";
  path: string;
  input_transforms?: Record<string, InputTransform>;
}

export type ModuleValue = ScriptValue | RawScriptValue | BranchOneValue | IdentityValue | FlowValue;

export interface RetrySpec {
  constant?: { attempts?: number; seconds?: number };
  exponential?: { attempts?: number; multiplier?: number; seconds?: number; random_factor?: number };
}

/** `stop_after_if`: evaluated after the step succeeds (see outcome.ts for what a true one does). */
export interface StopAfterIf {
  expr: string;
  skip_if_stopped?: boolean;
  error_message?: string | null;
  error_include_result?: boolean;
}

export interface FlowModule {
  id: string;
  summary?: string;
  value: ModuleValue;
  skip_if?: { expr: string };
  stop_after_if?: StopAfterIf;
  retry?: RetrySpec;
  timeout?: number;
}

export interface FlowFile {
  summary?: string;
  description?: string;
  value: {
    modules: FlowModule[];
    failure_module?: FlowModule;
    same_worker?: boolean;
  };
  schema?: FormSchema;
}

/**
 * Parse YAML with Bun's built-in parser when running under Bun (the CLI: it starts in a
 * fraction of the time the yaml package takes to load), else with the yaml package.
 */
export function parseYaml(text: string): unknown {
  const bunYaml = (globalThis as { Bun?: { YAML?: { parse(t: string): unknown } } }).Bun?.YAML;
  if (bunYaml) return bunYaml.parse(text);
  const require = createRequire(import.meta.url);
  return (require("yaml") as { parse(t: string): unknown }).parse(text);
}

/** A flow found in a workspace: its Windmill path and where its folder is. */
export interface FlowLocation {
  path: string;
  dir: string;
  file: string;
}

const FLOW_SUFFIXES = ["__flow", ".flow"] as const;

/**
 * `f/qemu/build`, `f/qemu/build/`, `f/qemu/build__flow` and `f/qemu/build__flow/flow.yaml`
 * all name the flow `f/qemu/build`. Returns null for something that cannot be a flow path.
 */
export function normaliseFlowPath(input: string): string | null {
  let p = input.trim().replace(/\\/g, "/").replace(/^\.\//, "");
  p = p.replace(/\/+$/, "").replace(/\/flow\.ya?ml$/, "");
  for (const suffix of FLOW_SUFFIXES) if (p.endsWith(suffix)) p = p.slice(0, -suffix.length);
  if (!p || p.startsWith("/")) return null;
  const parts = p.split("/");
  if (parts.some((part) => part === "" || part === "." || part === "..")) return null;
  if (parts.length < 2) return null;
  return p;
}

/** Where the flow with this path lives, whichever folder suffix the workspace uses. */
export function locateFlow(workspace: string, flowPath: string): FlowLocation | null {
  for (const suffix of FLOW_SUFFIXES) {
    const dir = join(workspace, `${flowPath}${suffix}`);
    for (const name of ["flow.yaml", "flow.yml"]) {
      const file = join(dir, name);
      if (existsSync(file)) return { path: flowPath, dir, file };
    }
  }
  return null;
}

/**
 * Visit every entry under `<workspace>/f` and `u/` (hidden entries and node_modules
 * skipped); `visit` returns true when it took a folder, which is then not descended into.
 */
export function walkWorkspace(workspace: string, visit: (full: string, name: string, isDir: boolean) => boolean): void {
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries.sort()) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const full = join(dir, name);
      const isDir = statSync(full, { throwIfNoEntry: false })?.isDirectory() ?? false;
      if (!visit(full, name, isDir) && isDir) walk(full);
    }
  };
  for (const root of ["f", "u"]) walk(join(workspace, root));
}

/** Every flow under `<workspace>/f` (and `u/`), sorted by path. */
export function listFlows(workspace: string): FlowLocation[] {
  const found: FlowLocation[] = [];
  walkWorkspace(workspace, (full, name, isDir) => {
    const suffix = FLOW_SUFFIXES.find((s) => name.endsWith(s));
    if (!isDir || !suffix) return false;
    const file = ["flow.yaml", "flow.yml"].map((n) => join(full, n)).find((f) => existsSync(f));
    if (!file) return false;
    const rel = relative(workspace, full).split(sep).join("/");
    found.push({ path: rel.slice(0, -suffix.length), dir: full, file });
    return true;
  });
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known flow closest to `wanted`, if it is close enough to be a likely typo. */
export function closestFlow(wanted: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestScore = Infinity;
  for (const k of known) {
    const d = editDistance(wanted, k);
    if (d < bestScore) {
      best = k;
      bestScore = d;
    }
  }
  if (best === null) return null;
  const lastPart = (p: string) => p.split("/").pop() ?? p;
  const sameName = known.filter((k) => lastPart(k) === lastPart(wanted));
  if (bestScore > Math.max(3, Math.floor(wanted.length / 3))) return sameName.length === 1 ? sameName[0]! : null;
  return best;
}

/** The sentence for a path that names nothing of its kind (`what`: "flow", or "flow or script"). */
export function unknownFlowMessage(wanted: string, known: readonly string[], what = "flow"): InputError {
  const close = closestFlow(wanted, known);
  let expected: string;
  if (close) expected = `the path of a ${what} in the workspace (did you mean ${close}?)`;
  else if (known.length === 0) expected = `the path of a ${what}, but the workspace has none under f/`;
  else if (known.length <= 12) expected = `the path of a ${what} in the workspace (one of: ${known.join(", ")})`;
  else expected = `the path of a ${what} in the workspace (run \`kdevflow list\` to see all ${known.length})`;
  return new InputError(`${what === "flow" ? "flow" : "path"} ${wanted}`, expected);
}

/** Resolve a flow argument to its file, or raise the "unknown flow" sentence. */
export function findFlow(workspace: string, wanted: string): FlowLocation {
  const path = normaliseFlowPath(wanted);
  if (path === null) {
    throw new InputError(`flow ${JSON.stringify(wanted)}`, "a flow path like f/<folder>/<name>");
  }
  const loc = locateFlow(workspace, path);
  if (loc) return loc;
  throw unknownFlowMessage(path, listFlows(workspace).map((f) => f.path));
}

export function readFlowFile(loc: FlowLocation): FlowFile {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(loc.file, "utf8"));
  } catch (err) {
    const first = String((err as Error).message).split("\n")[0];
    throw new InputError(`${loc.path} flow.yaml`, `valid YAML (${first})`);
  }
  checkFlowShape(doc, loc.path);
  return doc as FlowFile;
}

export function readFlowSummary(loc: FlowLocation): string {
  try {
    const doc = parseYaml(readFileSync(loc.file, "utf8")) as { summary?: unknown } | null;
    return typeof doc?.summary === "string" ? doc.summary : "";
  } catch {
    return "(flow.yaml is not valid YAML)";
  }
}

const SUPPORTED = ["script", "rawscript", "branchone", "identity", "flow"];

/** Module settings that change what a run does and that the engine does not implement: refused, not ignored. */
const UNSUPPORTED_MODULE_KEYS = ["continue_on_error", "sleep", "suspend", "mock", "cache_ttl", "stop_after_all_iters_if"] as const;
const UNSUPPORTED_FLOW_KEYS = ["skip_expr", "preprocessor_module", "early_return", "cache_ttl"] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Check what the engine relies on, so a malformed flow is refused before any step runs:
 * module ids unique, every value of a supported type, branches with an expression.
 */
export function checkFlowShape(doc: unknown, flowPath: string): asserts doc is FlowFile {
  const where = (w: string) => `${flowPath} ${w}`;
  if (!isObject(doc)) throw new InputError(where("flow.yaml"), "a mapping with summary, value and schema");
  const value = doc.value;
  if (!isObject(value) || !Array.isArray(value.modules)) {
    throw new InputError(where("value.modules"), "a list of modules");
  }
  const seen = new Set<string>();
  const checkModules = (mods: unknown, at: string): void => {
    if (!Array.isArray(mods)) throw new InputError(where(at), "a list of modules");
    mods.forEach((m, i) => checkModule(m, `${at}[${i}]`));
  };
  const checkModule = (m: unknown, at: string): void => {
    if (!isObject(m)) throw new InputError(where(at), "a module (a mapping with id and value)");
    if (typeof m.id !== "string" || m.id === "") throw new InputError(where(`${at}.id`), "a non-empty string");
    if (seen.has(m.id)) throw new InputError(where(`${at}.id`), "an id used by no other module", m.id);
    seen.add(m.id);
    const v = m.value;
    if (!isObject(v) || typeof v.type !== "string") throw new InputError(where(`module ${m.id}`), "a value with a type");
    if (!SUPPORTED.includes(v.type)) {
      throw new InputError(where(`module ${m.id}`), `a module type the local runner supports (${SUPPORTED.join(", ")})`, v.type);
    }
    if (v.type === "script" && typeof v.path !== "string") throw new InputError(where(`module ${m.id}.value.path`), "a script path");
    if (v.type === "flow" && (typeof v.path !== "string" || normaliseFlowPath(v.path) === null)) {
      throw new InputError(where(`module ${m.id}.value.path`), "a flow path like f/<folder>/<name>", v.path);
    }
    if (v.type === "rawscript") {
      if (typeof v.content !== "string") throw new InputError(where(`module ${m.id}.value.content`), "'!inline <file>' or code");
      if (v.language !== undefined && v.language !== "bun") {
        throw new InputError(where(`module ${m.id}.value.language`), "bun (the only language the local runner runs)", v.language);
      }
    }
    if ((v.type === "script" || v.type === "rawscript" || v.type === "flow") && v.input_transforms !== undefined) {
      if (!isObject(v.input_transforms)) throw new InputError(where(`module ${m.id}.value.input_transforms`), "a mapping");
      for (const [k, t] of Object.entries(v.input_transforms)) {
        const ok = isObject(t) && (t.type === "static" || (t.type === "javascript" && typeof t.expr === "string"));
        if (!ok) throw new InputError(where(`module ${m.id} input ${k}`), "{type: static, value} or {type: javascript, expr}");
      }
    }
    if (v.type === "branchone") {
      if (!Array.isArray(v.branches)) throw new InputError(where(`module ${m.id}.value.branches`), "a list of branches");
      v.branches.forEach((b, i) => {
        if (!isObject(b) || typeof b.expr !== "string") {
          throw new InputError(where(`module ${m.id}.value.branches[${i}]`), "a branch with expr and modules");
        }
        checkModules(b.modules ?? [], `module ${m.id}.value.branches[${i}].modules`);
      });
      checkModules(v.default ?? [], `module ${m.id}.value.default`);
    }
    if (m.skip_if !== undefined && !(isObject(m.skip_if) && typeof m.skip_if.expr === "string")) {
      throw new InputError(where(`module ${m.id}.skip_if`), "{expr: <javascript>}");
    }
    if (m.stop_after_if !== undefined && !(isObject(m.stop_after_if) && typeof m.stop_after_if.expr === "string")) {
      throw new InputError(where(`module ${m.id}.stop_after_if`), "{expr: <javascript>, skip_if_stopped}");
    }
    for (const key of UNSUPPORTED_MODULE_KEYS) {
      const v = m[key];
      const inUse = v !== undefined && v !== null && v !== false && !(isObject(v) && v.enabled === false);
      if (inUse) throw new InputError(where(`module ${m.id}.${key}`), "no such setting: the local runner does not implement it");
    }
    if (isObject(m.retry) && m.retry.retry_if !== undefined && m.retry.retry_if !== null) {
      throw new InputError(where(`module ${m.id}.retry.retry_if`), "no such setting: the local runner does not implement it");
    }
    if (m.timeout !== undefined && !(typeof m.timeout === "number" && m.timeout > 0)) {
      throw new InputError(where(`module ${m.id}.timeout`), "a positive number of seconds", m.timeout);
    }
  };
  for (const key of UNSUPPORTED_FLOW_KEYS) {
    if (value[key] !== undefined && value[key] !== null) {
      throw new InputError(where(`value.${key}`), "no such setting: the local runner does not implement it");
    }
  }
  checkModules(value.modules, "value.modules");
  if (value.failure_module !== undefined && value.failure_module !== null) checkModule(value.failure_module, "value.failure_module");
}

/** The file a script or rawscript module runs. */
export function moduleFile(workspace: string, flowDir: string, value: ScriptValue | RawScriptValue): string {
  if (value.type === "script") return resolve(workspace, `${value.path.replace(/^\//, "")}.ts`);
  const m = /^!inline\s+(.+)$/.exec(value.content.trim());
  if (!m) return "";
  return resolve(flowDir, m[1]!.trim());
}

/** Every module of a flow, depth first (branches included), then the failure module. */
export function allModules(flow: FlowFile): FlowModule[] {
  const out: FlowModule[] = [];
  const visit = (mods: FlowModule[]): void => {
    for (const m of mods) {
      out.push(m);
      if (m.value.type === "branchone") {
        for (const b of m.value.branches) visit(b.modules ?? []);
        visit(m.value.default ?? []);
      }
    }
  };
  visit(flow.value.modules);
  if (flow.value.failure_module) visit([flow.value.failure_module]);
  return out;
}
