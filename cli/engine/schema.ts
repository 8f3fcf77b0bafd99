// The flow form (`schema`): check a flow's inputs against it and fill its defaults, the
// way the Windmill web form does before it starts a run (only the form does: the API, a
// schedule and a flow module pass their arguments as they are; see inputs.ts). Pure: no
// files, no processes.
// Every refusal is an InputError whose one sentence names the field (a dotted path for
// nested fields, `name[i]` for array items) and says what was expected.

import { InputError } from "../../f/common/errors.ts";

export interface PropSchema {
  type?: string;
  description?: string;
  title?: string;
  placeholder?: string;
  default?: unknown;
  enum?: unknown[];
  items?: PropSchema;
  properties?: Record<string, PropSchema>;
  required?: string[];
  order?: string[];
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  format?: string;
  showExpr?: string;
  [key: string]: unknown;
}

export interface FormSchema extends PropSchema {
  $schema?: string;
  type?: "object";
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Property names in form order: `order` first, then the rest as written. */
export function orderedKeys(schema: PropSchema): string[] {
  const props = Object.keys(schema.properties ?? {});
  const order = (schema.order ?? []).filter((k) => props.includes(k));
  return [...order, ...props.filter((k) => !order.includes(k))];
}

/** A property whose value is picked from a dynamic list or is a resource: any string or object. */
function isOpaqueObject(p: PropSchema): boolean {
  return typeof p.format === "string" && (p.format.startsWith("dynselect-") || p.format.startsWith("resource-"));
}

/**
 * An object field the Windmill form edits as free JSON takes any keys: one with no
 * `properties` (or `properties: {}`) unless `additionalProperties: false`, and one whose
 * `additionalProperties` is given and not false. A group with fields and no
 * `additionalProperties` keeps refusing unknown keys (a typo in a group is caught).
 */
export function isFreeFormObject(p: PropSchema): boolean {
  if (p.additionalProperties !== undefined && p.additionalProperties !== false) return true;
  const noFields = p.properties === undefined || (isPlainObject(p.properties) && Object.keys(p.properties).length === 0);
  return noFields && p.additionalProperties !== false;
}

function choiceList(values: readonly unknown[]): string {
  const shown = values.map((v) => JSON.stringify(v));
  if (shown.length <= 1) return shown.join("");
  return `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`;
}

function joinPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** "one of the flow's inputs (a, b); there is no such field" and the nested variant. */
export function unknownFieldExpectation(group: string, known: readonly string[]): string {
  const owner = group ? `the fields of ${group}` : "the flow's inputs";
  if (known.length === 0) return `no field here (${group ? `group ${group}` : "the flow"} has none)`;
  return `one of ${owner} (${known.join(", ")}); there is no such field`;
}

/** Check one value against its property schema; returns the value with nested defaults filled. */
export function checkValue(p: PropSchema, value: unknown, field: string): unknown {
  if (value === null) return null;
  if (Array.isArray(p.enum) && p.type !== "array" && !p.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    throw new InputError(field, `one of ${choiceList(p.enum)}`, value);
  }
  switch (p.type) {
    case "string": {
      if (typeof value !== "string") throw new InputError(field, "a string", value);
      if (typeof p.maxLength === "number" && value.length > p.maxLength) {
        throw new InputError(field, `at most ${p.maxLength} characters`, value);
      }
      if (typeof p.minLength === "number" && value.length < p.minLength) {
        throw new InputError(field, `at least ${p.minLength} characters`, value);
      }
      if (typeof p.pattern === "string" && p.pattern !== "") {
        let re: RegExp;
        try {
          re = new RegExp(p.pattern, "u");
        } catch {
          re = new RegExp(p.pattern);
        }
        if (!re.test(value)) throw new InputError(field, `a string matching /${p.pattern}/`, value);
      }
      return value;
    }
    case "number":
    case "integer": {
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new InputError(field, p.type === "integer" ? "an integer" : "a number", value);
      }
      if (p.type === "integer" && !Number.isInteger(value)) throw new InputError(field, "an integer", value);
      if (typeof p.minimum === "number" && value < p.minimum) throw new InputError(field, `a number of at least ${p.minimum}`, value);
      if (typeof p.maximum === "number" && value > p.maximum) throw new InputError(field, `a number of at most ${p.maximum}`, value);
      return value;
    }
    case "boolean":
      if (typeof value !== "boolean") throw new InputError(field, "true or false", value);
      return value;
    case "array": {
      if (!Array.isArray(value)) throw new InputError(field, "a list", value);
      const items = p.items;
      const itemEnum = Array.isArray(items?.enum) ? items.enum : Array.isArray(p.enum) ? p.enum : undefined;
      return value.map((item, i) => {
        const at = `${field}[${i}]`;
        if (itemEnum && !itemEnum.some((e) => JSON.stringify(e) === JSON.stringify(item))) {
          throw new InputError(at, `one of ${choiceList(itemEnum)}`, item);
        }
        return items ? checkValue({ ...items, enum: undefined }, item, at) : item;
      });
    }
    case "object": {
      if (isOpaqueObject(p)) {
        if (typeof value !== "string" && !isPlainObject(value)) throw new InputError(field, "a string or an object", value);
        return value;
      }
      if (!isPlainObject(value)) throw new InputError(field, "an object", value);
      return checkObject(p, value, field);
    }
    default:
      return value;
  }
}

/**
 * Check an object against a schema with `properties`: unknown keys refused (unless the
 * schema is free-form), defaults filled, nested objects checked recursively, required
 * keys present. Returns a new object.
 */
export function checkObject(p: PropSchema, value: Record<string, unknown>, field: string, topLevel = false): Record<string, unknown> {
  const props = p.properties ?? {};
  const known = orderedKeys(p);
  // The flow's own form is never free-form: a flow with no inputs refuses every key.
  if (topLevel || !isFreeFormObject(p)) {
    for (const key of Object.keys(value)) {
      if (!(key in props)) {
        throw new InputError(joinPath(field, key), unknownFieldExpectation(field, known));
      }
    }
  }
  const required = new Set(p.required ?? []);
  const out: Record<string, unknown> = { ...value };
  for (const key of known) {
    const sub = props[key]!;
    const at = joinPath(field, key);
    let v = out[key];
    if (v === undefined && sub.default !== undefined) v = clone(sub.default);
    if (v === undefined && sub.type === "object" && sub.properties && !isOpaqueObject(sub)) {
      // An absent group still gets its nested defaults; if it cannot be built from
      // defaults alone and is optional, it stays absent.
      if (required.has(key)) v = {};
      else {
        try {
          const built = checkObject(sub, {}, at);
          if (Object.keys(built).length > 0) out[key] = built;
        } catch {
          /* optional group with required fields and no defaults: leave it out */
        }
        continue;
      }
    }
    if (v === undefined || (v === null && required.has(key))) {
      if (required.has(key)) throw new InputError(at, "a value (this input is required and has no default)");
      continue;
    }
    out[key] = checkValue(sub, v, at);
  }
  // Fields come out in form order, then any keys of a free-form object.
  const ordered: Record<string, unknown> = {};
  for (const key of known) if (key in out) ordered[key] = out[key];
  for (const key of Object.keys(out)) if (!(key in ordered)) ordered[key] = out[key];
  return ordered;
}

/** Validate a flow's inputs against its form and fill the defaults. */
export function validateInputs(schema: FormSchema | undefined, input: Record<string, unknown>): Record<string, unknown> {
  const form: PropSchema = { type: "object", properties: {}, ...(schema ?? {}) };
  if (!form.properties) form.properties = {};
  return checkObject(form, input, "", true);
}

/** The property schema a dotted key (`build.jobs`) names, or an InputError naming the key. */
export function propertyAt(schema: FormSchema | undefined, dotted: string): PropSchema | null {
  const parts = dotted.split(".");
  let cur: PropSchema = { type: "object", properties: {}, ...(schema ?? {}) };
  const walked: string[] = [];
  for (const part of parts) {
    if (part === "") throw new InputError(`--set ${dotted}`, "a field name like name or group.name");
    if (walked.length && cur.type === "object" && isFreeFormObject(cur) && !(cur.properties ?? {})[part]) return null; // free-form object: any key
    if (walked.length && cur.type !== undefined && cur.type !== "object") {
      throw new InputError(`--set ${dotted}`, `a field of a group, but ${walked.join(".")} is a ${cur.type} field, not a group`);
    }
    const props: Record<string, PropSchema> = cur.properties ?? {};
    const next = props[part];
    if (!next) {
      throw new InputError(`--set ${dotted}`, unknownFieldExpectation(walked.join("."), orderedKeys(cur)));
    }
    walked.push(part);
    cur = next;
  }
  return cur;
}

function tryJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

/**
 * The value `--set key=raw` stands for, given the field's schema: a string field keeps
 * the text as written (`label=123` is "123"); a number, boolean or object field takes
 * the JSON reading; an array field takes a JSON list, else one item coerced by the item
 * type (`target_list=x86_64-softmmu` is ["x86_64-softmmu"]). Values that do not fit are
 * passed on unchanged so that validation names the field.
 */
export function coerceSetValue(p: PropSchema | null, raw: string): unknown {
  const type = p?.type;
  if (type === "string") {
    if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
      const j = tryJson(raw);
      if (j.ok && typeof j.value === "string") return j.value;
    }
    return raw;
  }
  if (type === "array") {
    const j = tryJson(raw);
    if (j.ok && Array.isArray(j.value)) return j.value;
    if (raw === "") return [];
    return [coerceSetValue(p?.items ?? null, raw)];
  }
  if (type === "object" && p && isOpaqueObject(p)) {
    const j = tryJson(raw);
    return j.ok && isPlainObject(j.value) ? j.value : raw;
  }
  const j = tryJson(raw);
  return j.ok ? j.value : raw;
}

/** Put `value` at a dotted path inside `target`, creating (or replacing non-object) groups. */
export function setDotted(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let cur = target;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (!isPlainObject(next)) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/**
 * Apply `--set` pairs in order over a base input (from `--input`). The form refuses a key
 * it does not have; the API takes any key (`unknown: "allow"`), reading the value by the
 * field's type when the form has the field, else as JSON when it parses, else as text.
 */
export function applySets(
  schema: FormSchema | undefined,
  base: Record<string, unknown>,
  sets: ReadonlyArray<readonly [string, string]>,
  unknown: "refuse" | "allow" = "refuse",
): Record<string, unknown> {
  const out = clone(base) ?? {};
  for (const [key, raw] of sets) {
    let p: PropSchema | null;
    try {
      p = propertyAt(schema, key);
    } catch (err) {
      if (unknown === "refuse" || !(err instanceof InputError)) throw err;
      p = null;
    }
    setDotted(out, key, coerceSetValue(p, raw));
  }
  return out;
}
