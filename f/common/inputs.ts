// Inputs declared once. Each flow's inputs are one zod object (defaults included); its
// first step parses `flow_input` with it, and the flow form in flow.yaml is generated
// from the same object (scripts/flow-forms.ts, formSchema below). Later steps read the
// parsed inputs, never raw `flow_input`.
//
// On a Windmill server an unset input arrives as `null` (an input transform that
// evaluates to undefined is sent as JSON null, windmill-jseval/src/lib.rs), and only the
// web form fills defaults; so here `null` and "absent" both mean "not given" and take the
// field's default. A wrong value is refused with one sentence naming the field as the user
// wrote it (`kernel.git_ref`, `sources[0].url`) before anything on disk changes.
// A step that gets a result it cannot read is a wiring fault of the flow, not bad input:
// WiringError, which the runner maps to exit 1, not 2.

import { z } from "zod";
import { describeValue, InputError, isInputError, NOT_GIVEN } from "./errors.ts";

/** Form settings a field may carry besides its zod type: what the form shows, and the phrase used when the value is wrong. */
export interface FieldMeta {
  description?: string;
  title?: string;
  placeholder?: string;
  /** A Windmill `showExpr` (the field is shown only when it holds). */
  showExpr?: string;
  /** What the field expects, for the error sentence ("a tag, branch or commit of the linux Bare"). */
  expected?: string;
  [key: string]: unknown;
}

/** Attach form settings to a field. */
export function field<T extends z.ZodType>(schema: T, meta: FieldMeta): T {
  return schema.meta(meta) as T;
}

/**
 * A zod refinement from a check that throws InputError (the project's pure validators):
 * its `expected` becomes the issue's message and the value it named is kept as `got`.
 */
export function checkedBy<T>(check: (value: T) => unknown, path?: PropertyKey[] | "relative"): (value: T, ctx: z.RefinementCtx) => void {
  return (value, ctx) => {
    try {
      check(value);
    } catch (err) {
      if (!isInputError(err)) throw err;
      // "relative": the check names a place below this field (`[0].url`), which becomes the issue's path.
      const at = path === "relative" ? relativePath(err.field) : path;
      ctx.addIssue({ code: "custom", message: err.expected, ...(at ? { path: at } : {}), params: err.got === undefined ? {} : { got: err.got } });
    }
  };
}

/** `[0].url` -> [0, "url"]: a path below a field, as a check names it. */
export function relativePath(field: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of field.matchAll(/\[(\d+)\]|\.?([^.[\]]+)/g)) out.push(m[1] !== undefined ? Number(m[1]) : m[2]!);
  return out;
}

/** A zod refinement from a function that returns null when the value is fine, else what was expected. */
export function expectedBy<T>(problem: (value: T) => string | null): (value: T, ctx: z.RefinementCtx) => void {
  return (value, ctx) => {
    const p = problem(value);
    if (p !== null) ctx.addIssue({ code: "custom", message: p });
  };
}

/** A wrong result between steps: the flow's wiring is at fault, not the user. */
export class WiringError extends Error {
  constructor(readonly what: string, detail: string) {
    super(`wiring: ${what} is not what this step reads (${detail}); the flow passes a wrong or missing result`);
    this.name = "WiringError";
  }
}

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * `null` means "not given": drop the null-valued fields of `value` that `schema` declares,
 * at every depth of its objects (objects in lists too). Values the schema does not
 * describe field by field (a manifest object, a free-form record) are kept as they are:
 * their nulls are data. A null list item stays: it is a wrong value, not a missing one.
 */
export function dropNulls(schema: z.ZodType, value: unknown): unknown {
  const core = unwrap(schema).core;
  const d = defOf(core);
  if (d.type === "array" && Array.isArray(value) && d.element) {
    const element = d.element;
    return value.map((v) => (v === null ? v : dropNulls(element, v)));
  }
  if (d.type === "object" && isPlainObject(value)) {
    const shape = (core as unknown as { shape: Record<string, z.ZodType> }).shape;
    const out: Plain = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue;
      out[k] = shape[k] ? dropNulls(shape[k], v) : v;
    }
    return out;
  }
  return value;
}

/** A path as the user writes it: `kernel.git_ref`, `sources[0].url`. */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || "inputs";
}

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType; options?: z.ZodType[] };

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

/** The metas of a schema and of what it wraps (default, optional, pipe, ...), outermost first, and the unwrapped schema. */
function unwrap(s: z.ZodType): { metas: FieldMeta[]; core: z.ZodType } {
  const metas: FieldMeta[] = [];
  let cur: z.ZodType | undefined = s;
  for (let i = 0; cur && i < 20; i++) {
    const m = z.globalRegistry.get(cur) as FieldMeta | undefined;
    if (m) metas.push(m);
    const d = defOf(cur);
    if (d.innerType) cur = d.innerType;
    else if (d.type === "pipe" && d.in) cur = d.in;
    else break;
  }
  return { metas, core: cur ?? s };
}

/** The field schema at `path` (with its metas), or null when the path leaves the schema. */
function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): { metas: FieldMeta[]; core: z.ZodType } | null {
  let cur = unwrap(root);
  for (const p of path) {
    const d = defOf(cur.core);
    let next: z.ZodType | undefined;
    if (d.type === "object" && typeof p === "string") next = (cur.core as unknown as { shape: Record<string, z.ZodType> }).shape[p];
    else if (d.type === "array" && typeof p === "number") next = d.element;
    else if (d.type === "record" && typeof p === "string") next = (d as unknown as { valueType: z.ZodType }).valueType;
    if (!next) return null;
    cur = unwrap(next);
  }
  return cur;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = value;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p as string];
  }
  return cur;
}

const MAX_CHOICES_SHOWN = 8;

/** `"a", "b" or "c"`; a long list (over 10) shows its first 8 and says how many more there are, so a sentence stays short. */
export function choiceList(values: readonly unknown[]): string {
  const shown = values.map((v) => JSON.stringify(v));
  if (shown.length > MAX_CHOICES_SHOWN + 2) {
    return `${shown.slice(0, MAX_CHOICES_SHOWN).join(", ")} or one of ${shown.length - MAX_CHOICES_SHOWN} more`;
  }
  if (shown.length <= 1) return shown.join("");
  return `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`;
}

const TYPE_PHRASE: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "a list",
  object: "an object",
};

function sizePhrase(issue: z.core.$ZodIssue, big: boolean): string {
  const i = issue as unknown as { origin?: string; minimum?: number | bigint; maximum?: number | bigint; inclusive?: boolean };
  const bound = Number(big ? i.maximum : i.minimum);
  const inclusive = i.inclusive !== false;
  switch (i.origin) {
    case "string":
      if (!big && bound === 1) return "a non-empty string";
      return big ? `at most ${inclusive ? bound : bound - 1} characters` : `at least ${inclusive ? bound : bound + 1} characters`;
    case "array":
    case "set":
      if (!big && bound === 1) return "a non-empty list";
      return big ? `a list of at most ${bound} items` : `a list of at least ${bound} items`;
    default:
      if (big) return inclusive ? `a number of at most ${bound}` : `a number below ${bound}`;
      return inclusive ? `a number of at least ${bound}` : `a number above ${bound}`;
  }
}

/** What the schema expected, for one issue, as a phrase that follows "expected". */
function expectedPhrase(issue: z.core.$ZodIssue, metas: readonly FieldMeta[]): string {
  if (issue.code === "custom") return issue.message;
  const own = metas.find((m) => typeof m.expected === "string")?.expected;
  if (own) return own;
  switch (issue.code) {
    case "invalid_type": {
      const t = (issue as unknown as { expected: string }).expected;
      return TYPE_PHRASE[t] ?? `a value of type ${t}`;
    }
    case "invalid_value": {
      const values = (issue as unknown as { values: unknown[] }).values;
      return values.length === 1 ? JSON.stringify(values[0]) : `one of ${choiceList(values)}`;
    }
    case "too_small":
      return sizePhrase(issue, false);
    case "too_big":
      return sizePhrase(issue, true);
    case "invalid_format": {
      const f = issue as unknown as { format: string; pattern?: string };
      return f.format === "regex" ? `a string matching ${f.pattern}` : `a valid ${f.format}`;
    }
    case "not_multiple_of":
      return `a multiple of ${(issue as unknown as { divisor: number }).divisor}`;
    default:
      return issue.message;
  }
}

/** The first issue of a failed parse as one InputError sentence. */
export function issueToInputError(schema: z.ZodType, issue: z.core.$ZodIssue, raw: unknown, prefix = ""): InputError {
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "?";
    const at = schemaAt(schema, issue.path);
    const known = at && defOf(at.core).type === "object" ? Object.keys((at.core as unknown as { shape: object }).shape) : [];
    const owner = issue.path.length || prefix ? `the fields of ${fieldPath(prefix, issue.path)}` : "the flow's inputs";
    return new InputError(fieldPath(prefix, [...issue.path, key]), `one of ${owner} (${known.join(", ")}); there is no such field`);
  }
  const at = schemaAt(schema, issue.path);
  const params = (issue as { params?: { got?: unknown } }).params;
  const got = params && "got" in params ? params.got : valueAt(raw, issue.path);
  // A field left out is "nothing" when it was required; a rule between fields names no value.
  const shown = got !== undefined ? got : issue.code === "invalid_type" ? NOT_GIVEN : undefined;
  return new InputError(fieldPath(prefix, issue.path), expectedPhrase(issue, at?.metas ?? []), shown);
}

export interface ParseOptions {
  /** Put in front of every field name: "kernel" makes `git_ref` read `kernel.git_ref`. */
  prefix?: string;
}

/**
 * Parse a flow's inputs once, at the edge: null or absent fields take their defaults,
 * a wrong value is an InputError naming the field. `raw` may be null (no inputs at all).
 */
export function parseInputs<S extends z.ZodType>(schema: S, raw: unknown, opts: ParseOptions = {}): z.output<S> {
  const prefix = opts.prefix ?? "";
  if (raw !== null && raw !== undefined && !isPlainObject(raw)) {
    throw new InputError(prefix || "inputs", "an object of named inputs", raw);
  }
  const cleaned = dropNulls(schema, raw ?? {});
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  throw issueToInputError(schema, parsed.error.issues[0]!, cleaned, prefix);
}

/**
 * Read a result an earlier step handed over (parsed inputs, a plan): it was checked
 * when it was made, so a failure here is the flow's wiring, never the user's input.
 */
export function readResult<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length ? fieldPath("", issue.path) : "(top level)";
  throw new WiringError(what, value === null || value === undefined ? `got ${describeValue(value ?? null)}` : `${where}: ${issue.message}`);
}

// ---------------------------------------------------------------------------------
// The Windmill form

export type JsonSchema = Record<string, unknown>;

const SAFE_INT = 9007199254740991;
/** Meta keys that are ours, not the form's. */
const PRIVATE_META = ["expected"];

function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (!isPlainObject(node)) return node;
  const out: Plain = {};
  for (const [k, v] of Object.entries(node)) {
    if (PRIVATE_META.includes(k)) continue;
    if (k === "additionalProperties" && v === false) continue;
    if ((k === "maximum" && v === SAFE_INT) || (k === "minimum" && v === -SAFE_INT)) continue;
    out[k] = tidy(v);
  }
  if (out.type === "object" && isPlainObject(out.properties) && Object.keys(out.properties).length > 0) {
    // Windmill sorts fields by name unless `order` says otherwise; keep the declared order.
    const props = out.properties;
    const ordered: Plain = {};
    ordered.type = out.type;
    for (const [k, v] of Object.entries(out)) if (k !== "type" && k !== "properties" && k !== "required") ordered[k] = v;
    ordered.order = Object.keys(props);
    ordered.properties = props;
    ordered.required = Array.isArray(out.required) ? out.required : [];
    return ordered;
  }
  return out;
}

/**
 * The flow form (flow.yaml `schema`) for an inputs object: JSON Schema as zod writes it
 * for what the user types (io: input: defaults shown, defaulted fields not required),
 * with the declared field order as `order`, our private meta keys removed, and zod's
 * safe-integer bounds left out.
 */
export function formSchema(schema: z.ZodType): JsonSchema {
  const js = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Plain;
  const body = tidy(js) as Plain;
  const { $schema: _drop, ...rest } = body;
  return { $schema: "https://json-schema.org/draft/2020-12/schema", ...rest };
}
