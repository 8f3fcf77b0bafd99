// The flow form checks: validation and defaults (validateInputs), and what `--set` values
// become (coerceSetValue, applySets). Pure, table-driven.

import { describe, expect, it } from "vitest";
import {
  applySets,
  coerceSetValue,
  propertyAt,
  validateInputs,
  type FormSchema,
  type PropSchema,
} from "../../cli/engine/schema.ts";

const form: FormSchema = {
  type: "object",
  order: ["name", "mode", "targets", "build", "label", "count", "ratio", "enabled", "extra", "picker"],
  properties: {
    name: { type: "string", maxLength: 8, pattern: "^[a-z-]+$", minLength: 2 },
    mode: { type: "string", enum: ["fast", "slow"], default: "fast" },
    targets: { type: "array", items: { type: "string", enum: ["x86_64-softmmu", "aarch64-softmmu"] }, default: ["x86_64-softmmu"] },
    build: {
      type: "object",
      properties: {
        jobs: { type: "integer", default: 2, minimum: 1, maximum: 64 },
        ccache: { type: "object", properties: { size: { type: "string", default: "5G" }, dir: { type: "string" } } },
      },
    },
    label: { type: "string" },
    count: { type: "integer" },
    ratio: { type: "number" },
    enabled: { type: "boolean", default: false },
    extra: { type: "object" },
    picker: { type: "object", format: "dynselect-refs" },
    anything: {},
  },
  required: ["name"],
};

const defaults = {
  mode: "fast",
  targets: ["x86_64-softmmu"],
  build: { jobs: 2, ccache: { size: "5G" } },
  enabled: false,
};

describe("validateInputs accepts and fills defaults", () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ["only the required field", { name: "ab" }, { name: "ab", ...defaults }],
    ["a given value wins over its default", { name: "ab", mode: "slow" }, { name: "ab", ...defaults, mode: "slow" }],
    ["a partial group keeps its nested defaults", { name: "ab", build: { jobs: 8 } }, { name: "ab", ...defaults, build: { jobs: 8, ccache: { size: "5G" } } }],
    ["a deep nested value", { name: "ab", build: { ccache: { dir: "/c" } } }, { name: "ab", ...defaults, build: { jobs: 2, ccache: { size: "5G", dir: "/c" } } }],
    ["a multiselect of allowed items", { name: "ab", targets: ["aarch64-softmmu", "x86_64-softmmu"] }, { name: "ab", ...defaults, targets: ["aarch64-softmmu", "x86_64-softmmu"] }],
    ["an empty multiselect", { name: "ab", targets: [] }, { name: "ab", ...defaults, targets: [] }],
    ["a free-form object takes any keys", { name: "ab", extra: { a: 1, b: [2] } }, { name: "ab", ...defaults, extra: { a: 1, b: [2] } }],
    ["a dynamic select takes a string", { name: "ab", picker: "v6.1" }, { name: "ab", ...defaults, picker: "v6.1" }],
    ["a field without a type takes anything", { name: "ab", anything: [1, "x"] }, { name: "ab", ...defaults, anything: [1, "x"] }],
    ["null for an optional field stays null", { name: "ab", label: null }, { name: "ab", ...defaults, label: null }],
    ["integers and numbers", { name: "ab", count: 3, ratio: 0.5 }, { name: "ab", ...defaults, count: 3, ratio: 0.5 }],
  ];
  it.each(cases)("%s", (_name, input, expected) => {
    expect(validateInputs(form, input)).toEqual(expected);
  });

  it("returns fields in form order, whatever order they came in", () => {
    const out = validateInputs(form, { count: 1, name: "ab" });
    expect(Object.keys(out)).toEqual(["name", "mode", "targets", "build", "count", "enabled"]);
  });

  it("does not change its input", () => {
    const input = { name: "ab", build: { jobs: 3 } };
    validateInputs(form, input);
    expect(input).toEqual({ name: "ab", build: { jobs: 3 } });
  });

  it("a default object is a copy: filling it twice gives equal but separate values", () => {
    const a = validateInputs(form, { name: "ab" });
    const b = validateInputs(form, { name: "ab" });
    expect(a.targets).not.toBe(b.targets);
  });

  it("an optional group whose required field has no default stays absent", () => {
    const s: FormSchema = { type: "object", properties: { g: { type: "object", properties: { x: { type: "string" } }, required: ["x"] } } };
    expect(validateInputs(s, {})).toEqual({});
  });

  it("a flow without a schema takes no inputs", () => {
    expect(validateInputs(undefined, {})).toEqual({});
    expect(() => validateInputs(undefined, { a: 1 })).toThrow("a: expected no field here (the flow has none).");
  });
});

describe("validateInputs refuses with one sentence naming the field", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["missing required", {}, "name: expected a value (this input is required and has no default)."],
    ["required given as null", { name: null }, "name: expected a value (this input is required and has no default)."],
    ["wrong enum", { name: "ab", mode: "medium" }, 'mode: expected one of "fast" or "slow", got "medium".'],
    ["wrong multiselect item", { name: "ab", targets: ["x86_64-softmmu", "mips"] }, 'targets[1]: expected one of "x86_64-softmmu" or "aarch64-softmmu", got "mips".'],
    ["array given a string", { name: "ab", targets: "x86_64-softmmu" }, 'targets: expected a list, got "x86_64-softmmu".'],
    ["too long", { name: "abcdefghi" }, 'name: expected at most 8 characters, got "abcdefghi".'],
    ["too short", { name: "a" }, 'name: expected at least 2 characters, got "a".'],
    ["pattern", { name: "a1" }, 'name: expected a string matching /^[a-z-]+$/, got "a1".'],
    ["string given a number", { name: 12 }, "name: expected a string, got 12."],
    ["integer given a fraction", { name: "ab", count: 1.5 }, "count: expected an integer, got 1.5."],
    ["number given a string", { name: "ab", ratio: "half" }, 'ratio: expected a number, got "half".'],
    ["boolean given a string", { name: "ab", enabled: "yes" }, 'enabled: expected true or false, got "yes".'],
    ["nested type", { name: "ab", build: { jobs: "many" } }, 'build.jobs: expected an integer, got "many".'],
    ["nested minimum", { name: "ab", build: { jobs: 0 } }, "build.jobs: expected a number of at least 1, got 0."],
    ["nested maximum", { name: "ab", build: { jobs: 65 } }, "build.jobs: expected a number of at most 64, got 65."],
    ["group given a list", { name: "ab", build: [1] }, "build: expected an object, got an array of 1."],
    ["unknown top-level field", { name: "ab", nmae: "x" }, "nmae: expected one of the flow's inputs (name, mode, targets, build, label, count, ratio, enabled, extra, picker, anything); there is no such field."],
    ["unknown nested field", { name: "ab", build: { job: 1 } }, "build.job: expected one of the fields of build (jobs, ccache); there is no such field."],
    ["unknown deep field", { name: "ab", build: { ccache: { sz: "1G" } } }, "build.ccache.sz: expected one of the fields of build.ccache (size, dir); there is no such field."],
    ["dynamic select given a number", { name: "ab", picker: 3 }, "picker: expected a string or an object, got 3."],
  ];
  it.each(cases)("%s", (_name, input, message) => {
    expect(() => validateInputs(form, input)).toThrow(message);
    try {
      validateInputs(form, input);
    } catch (err) {
      expect((err as Error).name).toBe("InputError");
      expect((err as Error).message.split("\n")).toHaveLength(1);
    }
  });

  it("an unknown field is reported before a missing required one (a typo explains both)", () => {
    expect(() => validateInputs(form, { nmae: "ab" })).toThrow(/^nmae: /);
  });
});

describe("coerceSetValue reads --set text by the field's type", () => {
  const s = (type: string, extra: Partial<PropSchema> = {}): PropSchema => ({ type, ...extra });
  const cases: Array<[string, PropSchema | null, string, unknown]> = [
    ["string keeps digits as text", s("string"), "123", "123"],
    ["string keeps true as text", s("string"), "true", "true"],
    ["string keeps JSON-looking text", s("string"), "[1]", "[1]"],
    ["string unquotes a JSON string", s("string"), '"quoted"', "quoted"],
    ["string keeps an empty value", s("string"), "", ""],
    ["integer parses", s("integer"), "4", 4],
    ["number parses", s("number"), "0.5", 0.5],
    ["number leaves bad text for validation", s("number"), "abc", "abc"],
    ["boolean parses", s("boolean"), "false", false],
    ["array of strings: one item", s("array", { items: { type: "string" } }), "x86_64-softmmu", ["x86_64-softmmu"]],
    ["array: a JSON list", s("array", { items: { type: "string" } }), '["a","b"]', ["a", "b"]],
    ["array of integers: one item parsed", s("array", { items: { type: "integer" } }), "3", [3]],
    ["array of strings: a digit item stays text", s("array", { items: { type: "string" } }), "3", ["3"]],
    ["array: empty text is an empty list", s("array", { items: { type: "string" } }), "", []],
    ["object parses JSON", s("object", { properties: {} }), '{"a":1}', { a: 1 }],
    ["dynamic select keeps text", s("object", { format: "dynselect-refs" }), "v6.1", "v6.1"],
    ["no schema: JSON when it parses", null, "[1,2]", [1, 2]],
    ["no schema: text otherwise", null, "hello", "hello"],
    ["no type: null parses", s(undefined as unknown as string), "null", null],
  ];
  it.each(cases)("%s", (_name, p, raw, expected) => {
    expect(coerceSetValue(p, raw)).toEqual(expected);
  });
});

describe("free-form objects (the Windmill form edits them as JSON) take any keys", () => {
  const schemas: Array<[string, PropSchema]> = [
    ["no properties", { type: "object" }],
    ["properties: {}", { type: "object", properties: {} }],
    ["additionalProperties: true beside fields", { type: "object", properties: { a: { type: "string", default: "d" } }, additionalProperties: true }],
    ["additionalProperties as a schema", { type: "object", properties: { a: { type: "string", default: "d" } }, additionalProperties: { type: "number" } }],
    ["properties: {} and additionalProperties: true", { type: "object", properties: {}, additionalProperties: true }],
  ];
  const wrap = (p: PropSchema): FormSchema => ({ type: "object", properties: { obj: p }, required: ["obj"] });
  it.each(schemas)("%s: validateInputs keeps every key", (_name, p) => {
    const out = validateInputs(wrap(p), { obj: { x: 1, nested: { y: [2] } } }) as { obj: Record<string, unknown> };
    expect(out.obj).toMatchObject({ x: 1, nested: { y: [2] } });
    if (p.properties && "a" in p.properties) expect(out.obj.a).toBe("d"); // declared fields still get their defaults
  });
  it.each(schemas)("%s: --set reaches a key inside it", (_name, p) => {
    expect(applySets(wrap(p), {}, [["obj.x", "1"], ["obj.s", "text"]])).toEqual({ obj: { x: 1, s: "text" } });
  });
  it.each(schemas)("%s: a declared field is still checked", (_name, p) => {
    if (!(p.properties && "a" in p.properties)) return;
    expect(() => validateInputs(wrap(p), { obj: { a: 3 } })).toThrow("obj.a: expected a string, got 3.");
  });

  const closed: Array<[string, PropSchema, string]> = [
    ["fields and no additionalProperties", { type: "object", properties: { a: { type: "string" } } }, "obj.x: expected one of the fields of obj (a); there is no such field."],
    ["fields and additionalProperties: false", { type: "object", properties: { a: { type: "string" } }, additionalProperties: false }, "obj.x: expected one of the fields of obj (a); there is no such field."],
    ["no fields and additionalProperties: false", { type: "object", properties: {}, additionalProperties: false }, "obj.x: expected no field here (group obj has none)."],
  ];
  it.each(closed)("%s: an unknown key is refused", (_name, p, message) => {
    expect(() => validateInputs(wrap(p), { obj: { x: 1 } })).toThrow(message);
    expect(() => applySets(wrap(p), {}, [["obj.x", "1"]])).toThrow(`--set ${message}`);
  });

  it("a flow's own form with no inputs is not free-form: it refuses every key", () => {
    expect(() => validateInputs({ type: "object", properties: {} }, { x: 1 })).toThrow("x: expected no field here (the flow has none).");
    expect(() => validateInputs(undefined, { x: 1 })).toThrow("x: expected no field here (the flow has none).");
  });
});

describe("applySets", () => {
  it("sets dotted keys, keeps the rest of --input, later --set wins", () => {
    const out = applySets(form, { name: "file", build: { jobs: 8, ccache: { size: "1G" } } }, [
      ["build.ccache.dir", "/c"],
      ["mode", "slow"],
      ["mode", "fast"],
      ["targets", "aarch64-softmmu"],
      ["label", "007"],
    ]);
    expect(out).toEqual({
      name: "file",
      build: { jobs: 8, ccache: { size: "1G", dir: "/c" } },
      mode: "fast",
      targets: ["aarch64-softmmu"],
      label: "007",
    });
  });

  it("a whole group as JSON, then one of its fields", () => {
    expect(applySets(form, {}, [["build", '{"jobs": 4}'], ["build.jobs", "5"]])).toEqual({ build: { jobs: 5 } });
  });

  it("keys inside a free-form object are allowed", () => {
    expect(applySets(form, {}, [["extra.anything", "1"]])).toEqual({ extra: { anything: 1 } });
  });

  it("does not change the --input object", () => {
    const base = { build: { jobs: 1 } };
    applySets(form, base, [["build.jobs", "2"]]);
    expect(base).toEqual({ build: { jobs: 1 } });
  });

  const bad: Array<[string, string, string]> = [
    ["unknown field", "nmae", "--set nmae: expected one of the flow's inputs (name, mode, targets, build, label, count, ratio, enabled, extra, picker, anything); there is no such field."],
    ["unknown nested field", "build.job", "--set build.job: expected one of the fields of build (jobs, ccache); there is no such field."],
    ["field under a non-group", "label.x", "--set label.x: expected a field of a group, but label is a string field, not a group."],
    ["empty part", "build..jobs", "--set build..jobs: expected a field name like name or group.name."],
  ];
  it.each(bad)("refuses %s", (_name, key, message) => {
    expect(() => applySets(form, {}, [[key, "1"]])).toThrow(message);
  });

  it("propertyAt finds nested schemas", () => {
    expect(propertyAt(form, "build.ccache.size")).toEqual({ type: "string", default: "5G" });
  });
});

describe("runInputs: what a run starts with, by how it is started (cli/engine/inputs.ts)", async () => {
  const { runInputs } = await import("../../cli/engine/inputs.ts");
  const given = (base: Record<string, unknown>, sets: Array<[string, string]> = []) => ({ base, sets, given: true });

  it("the web form fills its defaults and refuses what it would refuse", () => {
    expect(runInputs("form", form, given({ name: "ab" }))).toEqual({ name: "ab", ...defaults });
    expect(() => runInputs("form", form, given({ name: "ab", mode: "medium" }))).toThrow('mode: expected one of "fast" or "slow", got "medium".');
  });

  // windmill-cli cli/src/commands/flow/flow.ts (run): the -d object is the request body; the API fills and checks nothing.
  it("the API takes the inputs as given: nothing filled, nothing checked", () => {
    expect(runInputs("api", form, given({ name: "ab" }))).toEqual({ name: "ab" });
    expect(runInputs("api", form, given({ mode: "medium", colour: "red", count: null }))).toEqual({ mode: "medium", colour: "red", count: null });
  });

  it("the API reads --set by the field's type where the form has it, and takes keys it does not have", () => {
    expect(runInputs("api", form, given({}, [["label", "007"], ["count", "5"], ["colour", "red"], ["deep.er", "[1]"]]))).toEqual({ label: "007", count: 5, colour: "red", deep: { er: [1] } });
  });

  // windmill-cli cli/src/utils/utils.ts, validateRequiredArgs: without -d, wmill refuses a form with required fields.
  it("the API with no inputs at all is refused when the form has required fields, as wmill refuses it without -d", () => {
    expect(() => runInputs("api", form, { base: {}, sets: [], given: false })).toThrow(/^name: expected a value: the form requires them/);
    expect(runInputs("api", { type: "object", properties: {} }, { base: {}, sets: [], given: false })).toEqual({});
  });
});
