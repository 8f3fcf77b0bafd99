// f/common/inputs.ts: a flow's inputs parsed once at the edge. On a Windmill server an
// unset input arrives as null (windmill-jseval/src/lib.rs sends an undefined transform as
// JSON null; windmill-worker/src/bun_executor.rs hands it to main as null), so null and
// absent both mean "not given"; a wrong value is one sentence naming the field as the
// user wrote it; the form is generated from the same schema.

import { describe, expect, it } from "vitest";
import { inputErrorOf } from "../harness/errors.ts";
import { z } from "zod";
import { InputError } from "../../f/common/errors.ts";
import { checkedBy, choiceList, dropNulls, field, fieldPath, formSchema, parseInputs, readResult, WiringError } from "../../f/common/inputs.ts";
import { Inputs as KernelInputs } from "../../f/kernel/build/inputs.ts";
import { Inputs as QemuInputs } from "../../f/qemu/build/inputs.ts";


const Demo = z.strictObject({
  name: field(z.string().min(1), { description: "A name.", expected: "a name of one or more characters" }),
  count: field(z.number().int().min(1).default(2), { description: "How many." }),
  mode: field(z.enum(["fast", "slow"]).default("fast"), { description: "How." }),
  tags: field(z.array(z.string()).default([]), { description: "Tags." }),
  group: field(z.strictObject({ size: z.number().min(0).default(1), url: z.string().url().optional() }).default({ size: 1 }), { description: "A group." }),
  limit: field(z.string().default("10G").superRefine(checkedBy((v: string) => { if (!/^\d+G$/.test(v)) throw new InputError("limit", "a size in G such as 10G", v); })), { description: "A limit." }),
});

describe("parseInputs", () => {
  it("fills every default when only the required fields are given", () => {
    expect(parseInputs(Demo, { name: "a" })).toEqual({ name: "a", count: 2, mode: "fast", tags: [], group: { size: 1 }, limit: "10G" });
  });

  it("treats null as not given, at every depth", () => {
    const nulls = { name: "a", count: null, mode: null, tags: null, group: { size: null, url: null }, limit: null };
    expect(parseInputs(Demo, nulls)).toEqual(parseInputs(Demo, { name: "a" }));
  });

  it("takes no inputs at all as an empty object (then names the required field)", () => {
    expect(inputErrorOf(() => parseInputs(Demo, null)).message).toBe("name: expected a name of one or more characters, got nothing.");
  });

  const wrong: [unknown, string][] = [
    [{ name: "" }, 'name: expected a name of one or more characters, got "".'],
    [{ name: "a", count: 0 }, "count: expected a number of at least 1, got 0."],
    [{ name: "a", count: 1.5 }, "count: expected an integer, got 1.5."],
    [{ name: "a", count: "2" }, 'count: expected a number, got "2".'],
    [{ name: "a", mode: "medium" }, 'mode: expected one of "fast" or "slow", got "medium".'],
    [{ name: "a", tags: [1] }, "tags[0]: expected a string, got 1."],
    [{ name: "a", tags: [null] }, "tags[0]: expected a string, got null."],
    [{ name: "a", group: { size: -1 } }, "group.size: expected a number of at least 0, got -1."],
    [{ name: "a", group: { url: "no" } }, 'group.url: expected a valid url, got "no".'],
    [{ name: "a", group: { sise: 1 } }, "group.sise: expected one of the fields of group (size, url); there is no such field."],
    [{ name: "a", nmae: 1 }, "nmae: expected one of the flow's inputs (name, count, mode, tags, group, limit); there is no such field."],
    [{ name: "a", limit: "10g" }, 'limit: expected a size in G such as 10G, got "10g".'],
    ["a string", 'inputs: expected an object of named inputs, got "a string".'],
  ];
  it.each(wrong)("%j is refused in one sentence naming the field", (raw, sentence) => {
    expect(inputErrorOf(() => parseInputs(Demo, raw)).message).toBe(sentence);
  });

  it("names a field as the user wrote it inside a group", () => {
    expect(inputErrorOf(() => parseInputs(Demo, { name: "a", group: { size: -1 } }, { prefix: "kernel" })).field).toBe("kernel.group.size");
    expect(fieldPath("workbench", ["sources", 0, "url"])).toBe("workbench.sources[0].url");
    expect(fieldPath("", [])).toBe("inputs");
  });

  it("drops the null fields the schema declares, keeps a null list item (a wrong value) and the nulls of a free-form object (data)", () => {
    const S = z.strictObject({ a: z.string().optional(), b: z.array(z.object({ c: z.number().optional(), d: z.number() })), e: z.object({ f: z.string().optional() }), m: z.record(z.string(), z.unknown()) });
    expect(dropNulls(S, { a: null, b: [null, { c: null, d: 1 }], e: { f: null }, m: { modules_dir: null } })).toEqual({ b: [null, { d: 1 }], e: {}, m: { modules_dir: null } });
  });

  it("keeps sentences short when there are many choices", () => {
    const many = Array.from({ length: 40 }, (_, i) => `t${i}`);
    expect(choiceList(many)).toBe('"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7" or one of 32 more');
    expect(choiceList(["a", "b", "c"])).toBe('"a", "b" or "c"');
  });
});

describe("readResult", () => {
  it("is a wiring fault, not bad input, when a step gets a result it cannot read", () => {
    expect(() => readResult(Demo, null, "check_inputs' result")).toThrow(WiringError);
    expect(() => readResult(Demo, { name: 1 }, "check_inputs' result")).toThrow(/^wiring: check_inputs' result is not what this step reads \(name: /);
    expect(readResult(Demo, parseInputs(Demo, { name: "a" }), "x")).toEqual(parseInputs(Demo, { name: "a" }));
  });
});

describe("formSchema", () => {
  const form = formSchema(Demo);
  it("writes the declared order, defaults, descriptions and the required fields", () => {
    expect(form.order).toEqual(["name", "count", "mode", "tags", "group", "limit"]);
    expect(form.required).toEqual(["name"]);
    const props = form.properties as Record<string, Record<string, unknown>>;
    expect(props.mode).toMatchObject({ type: "string", enum: ["fast", "slow"], default: "fast", description: "How." });
    expect(props.group).toMatchObject({ type: "object", order: ["size", "url"], required: [] });
  });
  it("keeps our private settings and zod's safe-integer bounds out of the form", () => {
    const text = JSON.stringify(form);
    expect(text).not.toMatch(/expected|9007199254740991|additionalProperties/);
  });
});

// The parse-once rule for the build flows: a flow run with every optional input null
// behaves as one with them absent (the first step's parse is all later steps read).
describe.each([
  ["f/kernel/build", KernelInputs, { git_ref: "v6.1" }],
  ["f/qemu/build", QemuInputs, {}],
] as const)("%s: every optional input null is the same as absent", (_flow, schema, required) => {
  it("parses to the same inputs", () => {
    const form = formSchema(schema) as { properties: Record<string, unknown>; required: string[] };
    const nulls = Object.fromEntries(Object.keys(form.properties).filter((k) => !form.required.includes(k)).map((k) => [k, null]));
    expect(Object.keys(nulls).length).toBeGreaterThan(10);
    expect(parseInputs(schema, { ...required, ...nulls })).toEqual(parseInputs(schema, required));
  });
});
