// Windmill conformance checks over a workspace tree (the real f/ or a broken copy in a
// test). Each check returns a list of problems, one readable line each, naming the file;
// an empty list means the tree conforms. The tests in
// tests/integration/windmill-conformance.test.ts run them over the real tree and prove,
// with deliberately broken copies, that each can fail. scripts/script-schema.ts uses the
// same inference to write `.script.yaml` schemas.
//
// Schema inference is Windmill's own: windmill-parser-wasm-ts reads `main`'s signature,
// argSigToJsonSchemaType (windmill-utils-internal) turns each argument into the form
// property, and inferScriptSchema below replays what `wmill generate-metadata` does with
// them (windmill-cli's inferSchema for bun scripts).

import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, join, normalize, relative } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { builtinModules, createRequire } from "node:module";
import { initSync, parse_deno, parse_ts_imports } from "windmill-parser-wasm-ts";
import { parseDocument } from "yaml";
import { WORKER_TAG } from "../../f/common/worker_tag.ts";

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------
// Windmill's parser and schema inference

let wasmReady = false;
function ensureWasm(): void {
  if (wasmReady) return;
  initSync({ module: readFileSync(require.resolve("windmill-parser-wasm-ts/windmill_parser_wasm_bg.wasm")) });
  wasmReady = true;
}

// The ESM build of windmill-utils-internal does not load in Node; its CommonJS build does.
const { argSigToJsonSchemaType } = require("windmill-utils-internal") as {
  argSigToJsonSchemaType: (typ: unknown, oldS: Record<string, unknown>) => void;
};

export interface MainArg {
  name: string;
  typ: unknown;
  otyp: string | null;
  default: unknown;
  has_default: boolean;
}

export interface ParsedMain {
  /** False for a library (no `main`). */
  hasMain: boolean;
  args: MainArg[];
}

/** `main`'s arguments as Windmill's parser sees them. Throws when the code does not parse. */
export function parseMain(code: string): ParsedMain {
  ensureWasm();
  const parsed = JSON.parse(parse_deno(code)) as { type?: string; args?: MainArg[]; auto_kind?: string | null };
  if (parsed.type === "Invalid") throw new Error("Windmill's parser cannot read this file");
  return { hasMain: parsed.auto_kind !== "lib", args: parsed.args ?? [] };
}

export type JsonSchema = Record<string, any>;

/**
 * The schema `wmill generate-metadata` would write for `code`, keeping what the current
 * schema says where Windmill keeps it (descriptions, titles, order, patterns, ...).
 */
export function inferScriptSchema(code: string, current: JsonSchema | undefined): JsonSchema {
  const { args } = parseMain(code);
  const schema: JsonSchema = structuredClone(current ?? {});
  const old: Record<string, JsonSchema> = structuredClone(schema.properties ?? {});
  schema.required = [];
  schema.properties = {};
  for (const arg of args) {
    const prop: JsonSchema = old[arg.name] ? sortKeys(old[arg.name]!) : { description: "", type: "" };
    argSigToJsonSchemaType(arg.typ, prop);
    if (arg.otyp && arg.otyp.includes("[") && arg.otyp.includes("|")) prop.originalType = arg.otyp;
    prop.default = arg.default;
    schema.properties[arg.name] = prop;
    if (!arg.has_default && !schema.required.includes(arg.name)) schema.required.push(arg.name);
  }
  return schema;
}

function sortKeys(o: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** What a form property means, descriptions aside: type, default, enum, format, items, nested properties. */
export function propertyShape(p: unknown): unknown {
  if (!p || typeof p !== "object") return p;
  const s = p as JsonSchema;
  const out: JsonSchema = { type: s.type };
  if (s.default !== undefined && s.default !== null) out.default = s.default;
  if (s.enum !== undefined && s.enum !== null) out.enum = s.enum;
  if (s.format !== undefined && s.format !== null) out.format = s.format;
  if (s.items !== undefined && s.items !== null) out.items = propertyShape(s.items);
  if (s.properties && typeof s.properties === "object") {
    out.properties = Object.fromEntries(Object.entries(s.properties as JsonSchema).map(([k, v]) => [k, propertyShape(v)]));
  }
  return out;
}

const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));

/** Differences between a script's `.script.yaml` schema and what its `main` gives. */
export function compareScriptSchema(code: string, written: JsonSchema | undefined): string[] {
  const problems: string[] = [];
  const { args } = parseMain(code);
  if (!written || typeof written !== "object") return ["has no schema"];
  if (written.type !== "object") problems.push(`schema.type: expected "object", got ${show(written.type)}`);
  const inferred = inferScriptSchema(code, written);
  const names = args.map((a) => a.name);
  const have = Object.keys((written.properties as JsonSchema | undefined) ?? {});
  for (const n of names) if (!have.includes(n)) problems.push(`schema.properties: main's argument ${n} is missing`);
  for (const n of have) if (!names.includes(n)) problems.push(`schema.properties.${n}: main has no argument ${n}`);
  for (const n of names) {
    if (!have.includes(n)) continue;
    const want = propertyShape(inferred.properties[n]);
    const got = propertyShape(written.properties[n]);
    if (!isDeepStrictEqual(want, got)) problems.push(`schema.properties.${n}: main gives ${show(want)}, the file says ${show(got)}`);
    const format = (inferred.properties[n] as JsonSchema).format;
    if (typeof format === "string" && format.startsWith("resource-")) {
      problems.push(`main's argument ${n} has a named or record type (Windmill shows a resource picker, ${format}): use an inline type`);
    }
  }
  const wantReq = [...(inferred.required as string[])].sort();
  const gotReq = [...((written.required as string[] | undefined) ?? [])].sort();
  if (!isDeepStrictEqual(wantReq, gotReq)) problems.push(`schema.required: main gives ${show(wantReq)}, the file says ${show(gotReq)}`);
  if (written.order !== undefined && !isDeepStrictEqual(written.order, names)) {
    problems.push(`schema.order: main's arguments are in the order ${show(names)}, the file says ${show(written.order)}`);
  }
  return problems;
}

/** Form fields without a description (the form shows it under the field). */
export function undescribed(schema: JsonSchema | undefined): string[] {
  return Object.entries((schema?.properties as Record<string, JsonSchema> | undefined) ?? {})
    .filter(([, p]) => typeof p?.description !== "string" || !p.description.trim())
    .map(([name]) => `schema.properties.${name}.description: every form field needs one (the form shows it under the field)`);
}

// ---------------------------------------------------------------------------------
// The workspace tree

export interface WorkspaceFiles {
  root: string;
  /** Every file under f/, relative to root, sorted. */
  files: string[];
}

async function walk(dir: string, out: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else out.push(p);
  }
}

export async function listWorkspace(root: string): Promise<WorkspaceFiles> {
  const abs: string[] = [];
  if (existsSync(join(root, "f"))) await walk(join(root, "f"), abs);
  return { root, files: abs.map((p) => relative(root, p)).sort() };
}

const isFlowFile = (f: string) => /__flow\/flow\.ya?ml$/.test(f);
const inFlowFolder = (f: string) => /__flow\//.test(f);

/** YAML files the validator knows: flows, schedules, triggers. */
export function validatedYamlFiles(ws: WorkspaceFiles): string[] {
  return ws.files.filter((f) => isFlowFile(f) || /\.schedule\.ya?ml$/.test(f) || /\.[a-z]+_trigger\.ya?ml$/.test(f));
}

async function readYaml(path: string): Promise<{ value: any; problems: string[] }> {
  const doc = parseDocument(await readFile(path, "utf8"));
  const problems = [...doc.errors, ...doc.warnings].map((e) => `YAML: ${e.message.split("\n")[0]}`);
  return { value: doc.toJS(), problems };
}

// ---------------------------------------------------------------------------------
// Checks

/** Every flow, schedule and trigger file passes windmill-yaml-validator. */
export async function checkYamlValidator(ws: WorkspaceFiles): Promise<string[]> {
  const { WindmillYamlValidator, getValidationTargetFromFilename } = require("windmill-yaml-validator") as typeof import("windmill-yaml-validator");
  const validator = new WindmillYamlValidator();
  const problems: string[] = [];
  for (const f of validatedYamlFiles(ws)) {
    const target = getValidationTargetFromFilename(f);
    if (!target) {
      problems.push(`${f}: the validator does not recognise this file name`);
      continue;
    }
    const { errors } = validator.validate(await readFile(join(ws.root, f), "utf8"), target);
    for (const e of errors) problems.push(`${f}: ${e.instancePath || "(top level)"} ${e.message ?? ""}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
  }
  return problems;
}

/** A flow module as met while walking a flow, with where it sits. */
export interface FlowModuleAt {
  where: string;
  module: any;
}

/** Every module of a flow: top level, inside branches and loops, the failure and preprocessor modules. */
export function flowModules(flow: any): FlowModuleAt[] {
  const out: FlowModuleAt[] = [];
  const visit = (modules: unknown, where: string) => {
    if (!Array.isArray(modules)) return;
    modules.forEach((m: any, i: number) => {
      const here = `${where}[${i}]${m?.id ? ` (${m.id})` : ""}`;
      out.push({ where: here, module: m });
      const v = m?.value;
      if (!v || typeof v !== "object") return;
      if (Array.isArray(v.branches)) {
        v.branches.forEach((b: any, j: number) => visit(b?.modules, `${here}.branches[${j}]`));
      }
      if (v.type === "branchone") visit(v.default, `${here}.default`);
      if (v.type === "forloopflow" || v.type === "whileloopflow") visit(v.modules, `${here}.modules`);
    });
  };
  visit(flow?.value?.modules, "modules");
  if (flow?.value?.failure_module) visit([flow.value.failure_module], "failure_module");
  if (flow?.value?.preprocessor_module) visit([flow.value.preprocessor_module], "preprocessor_module");
  return out;
}

/** Every string `!inline <file>` anywhere in a value, with its path in the document. */
export function inlineRefs(value: unknown, at = ""): { at: string; file: string }[] {
  if (typeof value === "string") {
    const m = /^!inline\s+(.+)$/.exec(value.trim());
    return m ? [{ at, file: m[1]!.trim() }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => inlineRefs(v, `${at}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => inlineRefs(v, at ? `${at}.${k}` : k));
  return [];
}

interface StepTarget {
  /** What the step runs, for messages. */
  what: string;
  args?: MainArg[];
  /** For a sub-flow: its form's properties and required fields. */
  flowSchema?: JsonSchema;
  missing?: string;
}

async function stepTarget(ws: WorkspaceFiles, flowDir: string, v: any): Promise<StepTarget | null> {
  if (v?.type === "script") {
    const path = String(v.path ?? "");
    if (!path.startsWith("f/")) return { what: path, missing: `script path ${show(v.path)} is not a workspace script (f/...)` };
    const file = join(ws.root, `${path}.ts`);
    if (!existsSync(file)) return { what: path, missing: `script ${path} does not exist (no ${path}.ts)` };
    return { what: path, args: parseMain(await readFile(file, "utf8")).args };
  }
  if (v?.type === "rawscript") {
    const content = typeof v.content === "string" ? v.content : "";
    const m = /^!inline\s+(.+)$/.exec(content.trim());
    if (!m) return { what: "inline code", args: parseMain(content).args };
    const file = join(flowDir, m[1]!.trim());
    if (!existsSync(file)) return null; // reported by the !inline check
    return { what: relative(ws.root, file), args: parseMain(await readFile(file, "utf8")).args };
  }
  if (v?.type === "flow") {
    const path = String(v.path ?? "");
    const file = join(ws.root, `${path}__flow`, "flow.yaml");
    if (!path.startsWith("f/") || !existsSync(file)) return { what: path, missing: `flow ${show(v.path)} does not exist (no ${path}__flow/flow.yaml)` };
    return { what: path, flowSchema: (await readYaml(file)).value?.schema ?? {} };
  }
  return null;
}

// windmill-yaml-validator accepts unknown keys silently, so a typo (`input_transform`,
// `stop_afer_if`, `sameworker`) passes it and wmill lint and is then ignored by the
// server: the step runs without its inputs, the flow never stops early. The walk below
// reads the same JSON schemas the validator ships and reports every key a schema with
// declared properties does not know.

type SchemaNode = Record<string, any>;

function validatorSchemas(): { openflow: Record<string, SchemaNode>; schedule: SchemaNode; trigger: (kind: string) => SchemaNode } {
  const base = dirname(require.resolve("windmill-yaml-validator"));
  const load = (rel: string) => JSON.parse(readFileSync(join(base, rel), "utf8")) as SchemaNode;
  return {
    openflow: load("gen/openflow.json").components.schemas,
    schedule: load("gen/schedule.json"),
    trigger: (kind) => load(`gen/triggers/${kind}.json`),
  };
}

/** Keys of `value` that its schema (resolving $ref, discriminated oneOf, allOf) does not declare. */
export function unknownKeys(value: unknown, schema: SchemaNode | undefined, defs: Record<string, SchemaNode>, at = ""): string[] {
  if (!schema || value === null || typeof value !== "object") return [];
  if (typeof schema.$ref === "string") return unknownKeys(value, defs[schema.$ref.split("/").pop()!], defs, at);
  if (Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) {
    const branches = (schema.oneOf ?? schema.anyOf) as SchemaNode[];
    const prop = schema.discriminator?.propertyName as string | undefined;
    if (!prop) return [];
    const tag = (value as Record<string, unknown>)[prop];
    const branch = branches.find((b) => {
      const r = typeof b.$ref === "string" ? defs[b.$ref.split("/").pop()!] : b;
      const p = r?.properties?.[prop];
      return p?.const === tag || (Array.isArray(p?.enum) && p.enum.includes(tag));
    });
    return branch ? unknownKeys(value, branch, defs, at) : []; // an unknown tag is the validator's to report
  }
  if (Array.isArray(value)) return schema.items ? value.flatMap((v, i) => unknownKeys(v, schema.items, defs, `${at}[${i}]`)) : [];
  let props: Record<string, SchemaNode> | undefined = schema.properties;
  if (Array.isArray(schema.allOf)) {
    props = { ...(props ?? {}) };
    for (const part of schema.allOf as SchemaNode[]) {
      const r = typeof part.$ref === "string" ? defs[part.$ref.split("/").pop()!] : part;
      Object.assign(props, r?.properties ?? {});
    }
  }
  const extra = schema.additionalProperties;
  if (!props) {
    return extra && typeof extra === "object"
      ? Object.entries(value).flatMap(([k, v]) => unknownKeys(v, extra, defs, at ? `${at}.${k}` : k))
      : [];
  }
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const here = at ? `${at}.${k}` : k;
    if (props[k]) out.push(...unknownKeys(v, props[k], defs, here));
    else if (extra && typeof extra === "object") out.push(...unknownKeys(v, extra, defs, here));
    else if (extra !== true) out.push(here);
  }
  return out;
}

/**
 * Top-level keys of flow.yaml that the validator's OpenFlow schema lacks and the server
 * reads: the CLI sends the whole file to create_flow/update_flow (windmill-cli
 * src/commands/flow/flow.ts, pushFlow), whose body is NewFlow (backend
 * windmill-types/src/flows.rs).
 */
export const NEW_FLOW_KEYS = ["tag", "dedicated_worker", "timeout", "visible_to_runner_only", "ws_error_handler_muted", "labels"] as const;

/** Every key in a flow, schedule or trigger file is one Windmill's schema knows. */
export async function checkUnknownKeys(ws: WorkspaceFiles): Promise<string[]> {
  const { getValidationTargetFromFilename } = require("windmill-yaml-validator") as typeof import("windmill-yaml-validator");
  const schemas = validatorSchemas();
  const problems: string[] = [];
  for (const f of validatedYamlFiles(ws)) {
    const target = getValidationTargetFromFilename(f);
    if (!target) continue;
    const { value } = await readYaml(join(ws.root, f));
    const root = target.type === "flow" ? schemas.openflow.OpenFlow : target.type === "schedule" ? schemas.schedule : schemas.trigger(target.triggerKind);
    const known = target.type === "flow" ? (NEW_FLOW_KEYS as readonly string[]) : [];
    for (const key of unknownKeys(value, root, schemas.openflow)) {
      if (!known.includes(key)) problems.push(`${f}: ${key}: not a key Windmill knows (a typo is silently ignored)`);
    }
  }
  return problems;
}

/**
 * Flow wiring: every `!inline` file and every `path:` script or flow exists, every
 * input_transforms key is an argument of the target's main, and every required argument
 * (no default, not optional) is given.
 */
export async function checkFlowWiring(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  for (const f of ws.files.filter(isFlowFile)) {
    const flowDir = dirname(join(ws.root, f));
    const { value: flow, problems: yamlProblems } = await readYaml(join(ws.root, f));
    problems.push(...yamlProblems.map((p) => `${f}: ${p}`));
    for (const ref of inlineRefs(flow)) {
      if (!existsSync(join(flowDir, ref.file))) problems.push(`${f}: ${ref.at}: the !inline file ${ref.file} does not exist`);
    }
    for (const { where, module } of flowModules(flow)) {
      const v = module?.value;
      let target: StepTarget | null;
      try {
        target = await stepTarget(ws, flowDir, v);
      } catch (err) {
        problems.push(`${f}: ${where}: ${(err as Error).message}`);
        continue;
      }
      if (!target) continue;
      if (target.missing) {
        problems.push(`${f}: ${where}: ${target.missing}`);
        continue;
      }
      const given = Object.keys((v.input_transforms as object | undefined) ?? {});
      const { known, required } = targetInputs(target);
      for (const k of given) if (!known.includes(k)) problems.push(`${f}: ${where}: input_transforms.${k} is not an argument of ${target.what} (it has ${known.join(", ") || "none"})`);
      for (const r of required) if (!given.includes(r)) problems.push(`${f}: ${where}: ${target.what} requires ${r}, and input_transforms does not give it`);
      const props = targetProperties(target);
      for (const [k, t] of Object.entries((v.input_transforms as Record<string, any> | undefined) ?? {})) {
        if (t?.type !== "static") continue;
        const bad = valueMisfit(props[k], t.value);
        if (bad) problems.push(`${f}: ${where}: input_transforms.${k}: the static value does not fit ${target.what}'s ${k}: ${bad}`);
      }
    }
    // The form's own defaults fit its fields.
    for (const [k, prop] of Object.entries((flow?.schema?.properties as Record<string, JsonSchema> | undefined) ?? {})) {
      const bad = valueMisfit(prop, prop?.default);
      if (bad) problems.push(`${f}: schema.properties.${k}.default: ${bad}`);
    }
  }
  return problems;
}

/**
 * Schedules and triggers: the script or flow they start exists, their `args` are inputs
 * of it, and every required input is given (schedules; a trigger's input comes with the
 * event, so only its target is checked).
 */
export async function checkScheduleTargets(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  for (const f of validatedYamlFiles(ws).filter((x) => !isFlowFile(x))) {
    const { value: doc, problems: yamlProblems } = await readYaml(join(ws.root, f));
    problems.push(...yamlProblems.map((p) => `${f}: ${p}`));
    const target = await stepTarget(ws, "", { type: doc?.is_flow ? "flow" : "script", path: doc?.script_path });
    if (!target) continue;
    if (target.missing) {
      problems.push(`${f}: script_path: ${target.missing}`);
      continue;
    }
    if (!/\.schedule\.ya?ml$/.test(f)) continue;
    const given = Object.keys((doc?.args as object | undefined) ?? {});
    const { known, required } = targetInputs(target);
    for (const k of given) if (!known.includes(k)) problems.push(`${f}: args.${k} is not an input of ${target.what} (it has ${known.join(", ") || "none"})`);
    for (const r of required) if (!given.includes(r)) problems.push(`${f}: ${target.what} requires ${r}, and args does not give it`);
    const props = targetProperties(target);
    for (const [k, value] of Object.entries((doc?.args as Record<string, unknown> | undefined) ?? {})) {
      const bad = valueMisfit(props[k], value);
      if (bad) problems.push(`${f}: args.${k}: does not fit ${target.what}'s ${k}: ${bad}`);
    }
    if (doc?.on_failure !== undefined && doc?.on_failure !== null) problems.push(...(await errorHandlerProblems(ws, doc)).map((p) => `${f}: ${p}`));
  }
  return problems;
}

/**
 * The arguments a server passes to a schedule's error handler: the failed job's result
 * (for a failure, its `error`) and where it came from, plus the schedule's
 * on_failure_extra_args (backend windmill-queue/src/jobs.rs, push_error_handler; the
 * list the schedule editor shows, frontend ScheduleEditorInner.svelte).
 */
export const SCHEDULE_ERROR_HANDLER_ARGS = ["path", "schedule_path", "error", "started_at", "failed_times", "workspace_id", "job_id", "is_flow", "email"] as const;

/**
 * A schedule's `on_failure` names a script or flow with its kind (`script/f/...` or
 * `flow/f/...`: the server refuses anything else, windmill-common/src/jobs.rs,
 * get_payload_tag_from_prefixed_path) that exists, and whose inputs are exactly what the
 * server passes: an input it does not pass arrives as null, one it passes and the handler
 * lacks is dropped.
 */
async function errorHandlerProblems(ws: WorkspaceFiles, doc: any): Promise<string[]> {
  const m = /^(script|flow)\/(f\/.+)$/.exec(String(doc.on_failure));
  if (!m) return [`on_failure: expected script/<path> or flow/<path>, got ${show(doc.on_failure)}`];
  const target = await stepTarget(ws, "", { type: m[1], path: m[2] });
  if (!target) return [];
  if (target.missing) return [`on_failure: ${target.missing}`];
  const passed = [...SCHEDULE_ERROR_HANDLER_ARGS, ...Object.keys((doc.on_failure_extra_args as object | null | undefined) ?? {})];
  const { known } = targetInputs(target);
  const problems: string[] = [];
  for (const k of known) if (!passed.includes(k)) problems.push(`on_failure: ${target.what} takes ${k}, which the server does not pass to an error handler (it passes ${passed.join(", ")})`);
  for (const k of passed) if (!known.includes(k)) problems.push(`on_failure: ${target.what} does not take ${k}, which the server passes to an error handler`);
  return problems;
}

/** The form property of each input of a target: inferred from main, or the sub-flow's schema. */
function targetProperties(target: StepTarget): Record<string, JsonSchema> {
  if (target.args) {
    return Object.fromEntries(
      target.args.map((a) => {
        const prop: JsonSchema = { description: "", type: "" };
        argSigToJsonSchemaType(a.typ, prop);
        return [a.name, prop];
      }),
    );
  }
  return (target.flowSchema?.properties as Record<string, JsonSchema> | undefined) ?? {};
}

/** Why a literal value does not fit a form property (type, enum, array items), or null when it fits. */
export function valueMisfit(prop: JsonSchema | undefined, value: unknown): string | null {
  if (!prop || value === null || value === undefined) return null;
  const kind = Array.isArray(value) ? "array" : typeof value;
  const want = prop.type as string | undefined;
  const fits =
    !want ||
    want === "object" ||
    (want === "string" && kind === "string") ||
    ((want === "number" || want === "integer") && kind === "number" && (want === "number" || Number.isInteger(value))) ||
    (want === "boolean" && kind === "boolean") ||
    (want === "array" && kind === "array");
  if (!fits) return `expected ${want}, got ${show(value)}`;
  if (Array.isArray(prop.enum) && !prop.enum.includes(value)) return `expected one of ${show(prop.enum)}, got ${show(value)}`;
  if (want === "object" && kind === "object" && isClosedGroup(prop)) {
    // A group with fields (a sub-flow's form group): every key is one of them, and fits it.
    const fields = prop.properties as Record<string, JsonSchema>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!(k in fields)) return `${k} is not a field of the group (it has ${Object.keys(fields).join(", ")})`;
      const bad = valueMisfit(fields[k], v);
      if (bad) return `${k}: ${bad}`;
    }
  }
  if (want === "array" && Array.isArray(value) && prop.items) {
    for (const item of value) {
      const bad = valueMisfit(prop.items as JsonSchema, item);
      if (bad) return `an item: ${bad}`;
    }
  }
  return null;
}

/** A form group with fields, and no `additionalProperties` opening it to other keys (the form edits those as free JSON). */
function isClosedGroup(prop: JsonSchema): boolean {
  const fields = prop.properties as Record<string, JsonSchema> | undefined;
  const extra = prop.additionalProperties;
  return !!fields && Object.keys(fields).length > 0 && (extra === undefined || extra === false);
}

/**
 * The inputs a step may be given and must be given. For a sub-flow these are its form's
 * properties, and its required fields less those with a default (the form fills them).
 */
function targetInputs(target: StepTarget): { known: string[]; required: string[] } {
  if (target.args) return { known: target.args.map((a) => a.name), required: target.args.filter((a) => !a.has_default).map((a) => a.name) };
  const props = (target.flowSchema?.properties as Record<string, JsonSchema> | undefined) ?? {};
  const required = ((target.flowSchema?.required as string[] | undefined) ?? []).filter((r) => props[r]?.default === undefined);
  return { known: Object.keys(props), required };
}

/** Every script's `.script.yaml` schema matches its main; every .script.yaml has its script. */
export async function checkScriptSchemas(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  for (const f of ws.files.filter((x) => x.endsWith(".script.yaml"))) {
    const code = f.replace(/\.script\.yaml$/, ".ts");
    if (!ws.files.includes(code)) {
      problems.push(`${f}: there is no ${basename(code)} beside it`);
      continue;
    }
    const { value: meta, problems: yamlProblems } = await readYaml(join(ws.root, f));
    problems.push(...yamlProblems.map((p) => `${f}: ${p}`));
    for (const key of ["summary", "description"]) {
      if (typeof meta?.[key] !== "string") problems.push(`${f}: ${key}: expected a string, got ${show(meta?.[key])}`);
    }
    problems.push(...kindAndLockProblems(meta).map((p) => `${f}: ${p}`));
    problems.push(...undescribed(meta?.schema).map((p) => `${f}: ${p}`));
    try {
      problems.push(...compareScriptSchema(await readFile(join(ws.root, code), "utf8"), meta?.schema).map((p) => `${f}: ${p}`));
    } catch (err) {
      problems.push(`${code}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * Every .ts under f/ outside a flow folder, step or library, has a .script.yaml: without
 * one, `wmill sync push` writes a .script.yaml and a .script.lock into the checkout.
 */
export async function checkModulesHaveMetadata(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  for (const f of ws.files.filter((x) => x.endsWith(".ts") && !inFlowFolder(x))) {
    let parsed: ParsedMain;
    try {
      parsed = parseMain(await readFile(join(ws.root, f), "utf8"));
    } catch (err) {
      problems.push(`${f}: ${(err as Error).message}`);
      continue;
    }
    const meta = f.replace(/\.ts$/, ".script.yaml");
    if (!ws.files.includes(meta)) {
      problems.push(`${f}: ${parsed.hasMain ? "a step" : "a library"} without ${basename(meta)} (wmill sync push would write one into the checkout; bun scripts/script-schema.ts --write ${f})`);
    }
  }
  return problems;
}

/** The package an import names, or null for a relative, workspace or runtime import. */
export function npmPackageOf(spec: string): string | null {
  if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:") || spec.startsWith("bun:") || spec === "bun") return null;
  if (builtinModules.includes(spec.split("/")[0]!)) return null;
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/**
 * Imports of every .ts under f/, as Windmill's parser reads them: relative imports carry
 * the .ts extension, name a file that exists and stay inside f/ (nothing else is
 * synced); absolute workspace imports (/f/...) name a file that exists; npm packages
 * are runtime dependencies in package.json (the server installs those, not dev ones).
 */
export async function checkImports(ws: WorkspaceFiles, dependencies: readonly string[]): Promise<string[]> {
  ensureWasm();
  const problems: string[] = [];
  for (const f of ws.files.filter((x) => x.endsWith(".ts"))) {
    let imports: string[];
    try {
      imports = (JSON.parse(parse_ts_imports(await readFile(join(ws.root, f), "utf8"))) as { imports: string[] }).imports;
    } catch (err) {
      problems.push(`${f}: Windmill's parser cannot read its imports (${(err as Error).message})`);
      continue;
    }
    for (const spec of imports) {
      if (spec.startsWith(".") || spec.startsWith("/")) {
        const target = spec.startsWith("/") ? normalize(spec.slice(1)) : normalize(join(dirname(f), spec));
        if (!target.startsWith("f/")) {
          problems.push(`${f}: imports ${spec}, outside f/ (Windmill syncs only f/)`);
          continue;
        }
        if (!spec.endsWith(".ts")) {
          problems.push(`${f}: imports ${spec} without the .ts extension`);
          continue;
        }
        if (!ws.files.includes(target)) problems.push(`${f}: imports ${spec}, and ${target} does not exist`);
        continue;
      }
      const pkg = npmPackageOf(spec);
      if (pkg && !dependencies.includes(pkg)) problems.push(`${f}: imports ${spec}, and ${pkg} is not a dependency in package.json`);
    }
  }
  return problems;
}

/**
 * Leading-comment annotations that change how a server resolves a Bun module's npm
 * imports or what runs it. The server reads annotations from the comment lines at the top
 * of the code, each line being exactly the word (windmill-macros `annotations`, for
 * TypeScriptAnnotations in windmill-common/src/worker.rs: `npm` installs with npm,
 * `nodejs` runs under Node, `native` on the native runtime), and a `package_json:` or `extra_package_json:` line names workspace
 * dependency files instead of the default dependencies/package.json
 * (windmill-common/src/scripts.rs, extract_workspace_dependencies_annotated_refs).
 */
const RESOLUTION_ANNOTATION = /^\/\/\s*(npm|nodejs|native|(extra[_-])?package_json:.*)\s*$/;

/** The annotation lines in a module's leading comment block that change how its imports resolve. */
export function resolutionAnnotations(code: string): string[] {
  const found: string[] = [];
  for (const line of code.split("\n")) {
    if (!line.trim()) continue;
    if (!line.startsWith("//")) break;
    if (RESOLUTION_ANNOTATION.test(line.trim())) found.push(line.trim());
  }
  return found;
}

/** Every Bun module the server deploys: each .ts under f/ (steps, libraries, inline flow steps). */
export function bunModules(ws: WorkspaceFiles): string[] {
  return ws.files.filter((f) => f.endsWith(".ts"));
}

/**
 * No Bun module carries an annotation that takes it off the workspace's pinned default
 * dependencies (dependencies/package.json) or off Bun: every deployed script, library
 * and inline flow step resolves its npm imports against the same pinned file.
 */
export async function checkDependencyAnnotations(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  for (const f of bunModules(ws)) {
    for (const a of resolutionAnnotations(await readFile(join(ws.root, f), "utf8"))) {
      problems.push(`${f}: the leading comment line "${a}" is a Windmill annotation: the server would not resolve this module against dependencies/package.json with Bun`);
    }
  }
  return problems;
}

/** Identifiers read as `<object>.<name>` or `<object>["name"]` in a JavaScript expression. */
export function namesRead(expr: string, object: string): string[] {
  const out = new Set<string>();
  const re = new RegExp(`\\b${object}(?:\\?\\.|\\.)([A-Za-z_$][\\w$]*)|\\b${object}\\[\\s*["'\`]([^"'\`]+)["'\`]\\s*\\]`, "g");
  for (const m of expr.matchAll(re)) out.add((m[1] ?? m[2])!);
  return [...out];
}

/** Every JavaScript expression in a flow, with where it sits. */
function flowExpressions(flow: any): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const { where, module } of flowModules(flow)) {
    for (const [k, t] of Object.entries((module?.value?.input_transforms as Record<string, any> | undefined) ?? {})) {
      if (t?.type === "javascript" && typeof t.expr === "string") out.push({ where: `${where}: input_transforms.${k}`, expr: t.expr });
    }
    if (typeof module?.skip_if?.expr === "string") out.push({ where: `${where}: skip_if`, expr: module.skip_if.expr });
    if (typeof module?.stop_after_if?.expr === "string") out.push({ where: `${where}: stop_after_if`, expr: module.stop_after_if.expr });
    (module?.value?.branches as any[] | undefined)?.forEach((b, i) => {
      if (typeof b?.expr === "string") out.push({ where: `${where}: branches[${i}].expr`, expr: b.expr });
    });
    if (typeof module?.value?.iterator?.expr === "string") out.push({ where: `${where}: iterator`, expr: module.value.iterator.expr });
  }
  return out;
}

/**
 * The shape this project asks of a flow and what its expressions may read: summary,
 * description, same_worker: true, a schema whose `order` and `required` name its
 * properties; inline steps in Bun; step ids unique; every `flow_input.X` an input of the form and every
 * `results.Y` a step of the flow.
 */
export async function checkFlowShape(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  for (const f of ws.files.filter(isFlowFile)) {
    const { value: flow } = await readYaml(join(ws.root, f));
    for (const key of ["summary", "description"]) {
      if (typeof flow?.[key] !== "string" || !flow[key].trim()) problems.push(`${f}: ${key}: expected a non-empty string, got ${show(flow?.[key])}`);
    }
    if (flow?.value?.same_worker !== true) problems.push(`${f}: value.same_worker: expected true (one shared folder per run), got ${show(flow?.value?.same_worker)}`);
    const schema = flow?.schema;
    if (!schema || typeof schema !== "object" || schema.type !== "object") {
      problems.push(`${f}: schema: expected a JSON schema of type object`);
      continue;
    }
    const props = Object.keys(schema.properties ?? {});
    problems.push(...undescribed(schema).map((p) => `${f}: ${p}`));
    if (schema.order !== undefined) {
      const order = Array.isArray(schema.order) ? (schema.order as string[]) : [];
      if (order.length !== props.length || [...order].sort().join("\0") !== [...props].sort().join("\0")) {
        problems.push(`${f}: schema.order: expected each property once (${props.join(", ")}), got ${show(schema.order)}`);
      }
    }
    for (const r of (schema.required as string[] | undefined) ?? []) {
      if (!props.includes(r)) problems.push(`${f}: schema.required: ${r} is not a property of the form`);
    }
    for (const { where, module } of flowModules(flow)) {
      if (module?.value?.type === "rawscript" && module.value.language !== "bun") {
        problems.push(`${f}: ${where}: language: expected "bun" (the runtime this workspace's steps are written for), got ${show(module.value.language)}`);
      }
    }
    const ids = flowModules(flow).map((m) => m.module?.id as string);
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) problems.push(`${f}: step id ${id} is used twice`);
      seen.add(id);
    }
    for (const { where, expr } of flowExpressions(flow)) {
      for (const n of namesRead(expr, "flow_input")) {
        if (!props.includes(n)) problems.push(`${f}: ${where}: reads flow_input.${n}, which is not an input of the form`);
      }
      for (const n of namesRead(expr, "results")) {
        if (!seen.has(n)) problems.push(`${f}: ${where}: reads results.${n}, and no step has that id`);
      }
    }
  }
  return problems;
}

/** Every folder (f/<folder>) has its folder.meta.yaml with summary, display_name, owners and extra_perms. */
export async function checkFolders(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  const folders = [...new Set(ws.files.filter((f) => f.split("/").length > 2).map((f) => f.split("/")[1]!))];
  for (const folder of folders) {
    const meta = `f/${folder}/folder.meta.yaml`;
    if (!ws.files.includes(meta)) {
      problems.push(`f/${folder}: no folder.meta.yaml (wmill sync push creates the folder from it)`);
      continue;
    }
    const { value, problems: yamlProblems } = await readYaml(join(ws.root, meta));
    problems.push(...yamlProblems.map((p) => `${meta}: ${p}`));
    if (typeof value?.summary !== "string") problems.push(`${meta}: summary: expected a string, got ${show(value?.summary)}`);
    if (typeof value?.display_name !== "string") problems.push(`${meta}: display_name: expected a string, got ${show(value?.display_name)}`);
    if (!Array.isArray(value?.owners)) problems.push(`${meta}: owners: expected a list, got ${show(value?.owners)}`);
    if (!value?.extra_perms || typeof value.extra_perms !== "object" || Array.isArray(value.extra_perms)) {
      problems.push(`${meta}: extra_perms: expected a mapping, got ${show(value?.extra_perms)}`);
    }
  }
  return problems;
}

/** wmill.yaml selects what this workspace is written for: __flow folders, Bun, f/**, schedules. */
export async function checkWmillYaml(root: string): Promise<string[]> {
  const path = join(root, "wmill.yaml");
  if (!existsSync(path)) return ["wmill.yaml: missing (run every wmill command from the folder holding it)"];
  const { value: w, problems } = await readYaml(path);
  const want: [string, unknown][] = [
    ["nonDottedPaths", true],
    ["defaultTs", "bun"],
    ["includeSchedules", true],
  ];
  for (const [k, v] of want) if (w?.[k] !== v) problems.push(`wmill.yaml: ${k}: expected ${show(v)}, got ${show(w?.[k])}`);
  if (!Array.isArray(w?.includes) || !w.includes.includes("f/**")) problems.push(`wmill.yaml: includes: expected to hold "f/**", got ${show(w?.includes)}`);
  return problems;
}

/** The extensions `wmill sync push` reads (windmill-cli's elementsToMap, YAML mode); it skips every other file. */
const SYNCED_EXTENSIONS = ["yaml", "yml", "ts", "lock", "go", "sh", "py", "sql", "gql", "ps1", "php", "js", "rs", "cs", "nu", "java", "rb", "r"];

/**
 * What a worker will not have: a file under f/ that `wmill sync push` skips (a .toml,
 * .config, .json, .md ...) is never deployed, and a module that finds files through
 * import.meta (dirname, url) or __dirname looks beside a copy of itself in a job folder,
 * where its siblings are not. Data a step needs belongs in a .ts module (an exported
 * string) or in an input.
 */
export async function checkDeployedFiles(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  for (const f of ws.files) {
    const ext = f.includes(".") ? f.split(".").pop()! : "";
    if (!SYNCED_EXTENSIONS.includes(ext)) {
      problems.push(`${f}: wmill sync push skips this file (.${ext || "no extension"}), so no worker has it; put what steps need in a .ts module or an input, and keep other files out of f/`);
    }
  }
  for (const f of ws.files.filter((x) => x.endsWith(".ts"))) {
    const lines = (await readFile(join(ws.root, f), "utf8")).split("\n");
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return;
      if (/import\.meta\.(dirname|url|filename|dir|path)\b|\b__dirname\b|\b__filename\b/.test(line)) {
        problems.push(`${f}:${i + 1}: finds files relative to the module itself; on a worker it runs as a copy in a job folder without its siblings`);
      }
    });
  }
  return problems;
}

/** Compound suffixes Windmill gives meaning to; the rest of the name must hold no dot. */
const KNOWN_SUFFIXES = [
  /\.script\.ya?ml$/,
  /\.script\.lock$/,
  /\.schedule\.ya?ml$/,
  /\.[a-z]+_trigger\.ya?ml$/,
  /\.resource\.ya?ml$/,
  /\.variable\.ya?ml$/,
];

/**
 * A Windmill path is a file's path up to its first dot: a name may hold one dot (its
 * extension) or a known compound suffix, nothing else. Folders hold no dots, and
 * nothing is hidden.
 */
export function checkFileNames(ws: WorkspaceFiles): string[] {
  const problems: string[] = [];
  for (const f of ws.files) {
    const parts = f.split("/");
    const name = parts.pop()!;
    const badDir = parts.find((p) => p.includes("."));
    if (badDir) {
      problems.push(`${f}: the folder ${badDir} has a dot in its name`);
      continue;
    }
    if (name === "folder.meta.yaml" || (inFlowFolder(f) && /^flow\.ya?ml$/.test(name))) continue;
    const suffix = KNOWN_SUFFIXES.find((re) => re.test(name));
    const stem = suffix ? name.replace(suffix, "") : name.replace(/\.[^.]+$/, "");
    if (!stem || stem.includes(".") || name.startsWith(".")) {
      problems.push(`${f}: a name may hold only its extension after a dot (Windmill takes the path up to the first dot)`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------
// Writing schemas (scripts/script-schema.ts)

const KEY_ORDER = ["type", "format", "items", "originalType", "enum", "properties", "default", "description"];

function tidyProperty(p: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  const keys = [...KEY_ORDER.filter((k) => k in p), ...Object.keys(p).filter((k) => !KEY_ORDER.includes(k))];
  for (const k of keys) {
    const v = p[k];
    if (v === undefined || (k === "default" && v === null)) continue;
    if (k === "items" && v && typeof v === "object") out[k] = tidyProperty(v);
    else if (k === "properties" && v && typeof v === "object") {
      out[k] = Object.fromEntries(Object.entries(v as JsonSchema).map(([n, q]) => [n, tidyProperty(q as JsonSchema)]));
    } else out[k] = v;
  }
  return out;
}

/**
 * The schema to write into `.script.yaml` for `code`: Windmill's inference, keeping the
 * current descriptions and other form settings, with `order` following main's arguments
 * and no empty keys.
 */
export function scriptSchemaFor(code: string, current: JsonSchema | undefined): JsonSchema {
  const inferred = inferScriptSchema(code, current);
  const names = Object.keys(inferred.properties);
  const rest = Object.fromEntries(Object.entries(inferred).filter(([k]) => !["$schema", "type", "order", "properties", "required"].includes(k)));
  return {
    $schema: inferred.$schema ?? "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    order: names,
    properties: Object.fromEntries(names.map((n) => [n, tidyProperty(inferred.properties[n])])),
    required: inferred.required,
    ...rest,
  };
}

// ---------------------------------------------------------------------------------
// The metadata of every module (scripts/script-schema.ts writes it)
//
// `wmill sync push` treats every .ts under f/ outside a flow folder as a script, a
// library (no main) included: when one has no .script.yaml, the CLI writes one with an
// empty summary and a `.script.lock` beside it into the checkout (windmill-cli
// src/utils/metadata.ts, parseMetadataFile: "no metadata file at all. Create it"). So
// every module gets its metadata committed: a step's summary and descriptions are
// written by a person; a library's are taken from its leading comment when the file is
// created, and kept afterwards like a step's.

/** The module's leading `//` comment as one paragraph, or "" when it has none. */
export function leadingComment(code: string): string {
  const lines: string[] = [];
  for (const line of code.split("\n")) {
    if (!line.startsWith("//")) break;
    lines.push(line.replace(/^\/\/\s?/, "").trim());
  }
  return lines.join(" ").replace(/\s+/g, " ").trim();
}

/** The first sentence of a paragraph (up to the first '.', '!' or '?' before a space), at most 120 characters. */
export function firstSentence(text: string): string {
  const m = /^(.+?[.!?])(\s|$)/.exec(text);
  const s = (m ? m[1]! : text).trim();
  if (s.length <= 120) return s;
  const cut = s.slice(0, 117);
  return `${cut.slice(0, cut.lastIndexOf(" ") > 60 ? cut.lastIndexOf(" ") : 117)}...`;
}

/** The metadata a new `.script.yaml` starts from: empty prose for a step, the leading comment for a library. */
export function newScriptMetadata(code: string): Record<string, unknown> {
  const about = parseMain(code).hasMain ? "" : leadingComment(code);
  return { summary: firstSentence(about), description: about, lock: "", kind: "script", tag: WORKER_TAG };
}

/** The problem with a flow's or script's worker tag, or null. */
export function tagProblem(doc: JsonSchema | undefined): string | null {
  if (doc?.tag === WORKER_TAG) return null;
  return `tag: expected ${show(WORKER_TAG)} (only workers prepared for kdevflow may take its jobs; f/common/worker_tag.ts), got ${show(doc?.tag)}`;
}

/** Problems with a `.script.yaml`'s kind and lock. */
function kindAndLockProblems(meta: JsonSchema | undefined): string[] {
  const problems: string[] = [];
  if (meta?.kind !== "script") problems.push(`kind: expected "script", got ${show(meta?.kind)}`);
  if (typeof meta?.lock !== "string") problems.push(`lock: expected a string ('' lets the server resolve it against dependencies/package.json), got ${show(meta?.lock)}`);
  return problems;
}

/** Problems with a `.script.yaml`'s deployment settings: the worker tag, kind and lock. */
export function deploymentProblems(meta: JsonSchema | undefined): string[] {
  const tag = tagProblem(meta);
  return [...(tag ? [tag] : []), ...kindAndLockProblems(meta)];
}

/**
 * Every flow and every script carries the worker tag. A flow's is a top-level key of
 * flow.yaml (the CLI sends the whole file as the server's NewFlow, whose `tag` decides
 * where the flow job runs; its steps and sub-flows inherit it, windmill-worker
 * src/worker_flow.rs resolve_flow_step_tag); a script's is `tag` in its .script.yaml
 * (sent as NewScript.tag by windmill-cli src/commands/script/script.ts). Schedules start
 * the flow with its tag when they have none of their own (windmill-queue src/schedule.rs).
 */
export async function checkWorkerTags(ws: WorkspaceFiles): Promise<string[]> {
  const problems: string[] = [];
  for (const f of ws.files.filter((x) => isFlowFile(x) || x.endsWith(".script.yaml"))) {
    const problem = tagProblem((await readYaml(join(ws.root, f))).value);
    if (problem) problems.push(`${f}: ${problem}`);
  }
  return problems;
}
