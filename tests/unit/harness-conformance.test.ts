// Pure parts of the conformance checks: which names an expression reads, which package
// an import names, where !inline references sit, which modules a flow walk visits, and
// the schema Windmill infers from a main signature.

import { describe, expect, it } from "vitest";
import { compareScriptSchema, flowModules, inferScriptSchema, inlineRefs, namesRead, npmPackageOf, scriptSchemaFor, valueMisfit } from "../harness/conformance.ts";

describe("namesRead", () => {
  it.each<[string, string, string[]]>([
    ["flow_input.a", "flow_input", ["a"]],
    ["flow_input?.b ?? flow_input.c", "flow_input", ["b", "c"]],
    ["flow_input['with-dash'] + flow_input[\"d\"]", "flow_input", ["with-dash", "d"]],
    ["results.build.manifest.image", "results", ["build"]],
    ["myflow_input.x + not_results.y", "flow_input", []],
    ["`${flow_input.vm}-${results.boot.pid}`", "results", ["boot"]],
    ["previous_result.x", "results", []],
  ])("%s reads %s: %j", (expr, object, want) => {
    expect(namesRead(expr, object)).toEqual(want);
  });
});

describe("npmPackageOf", () => {
  it.each<[string, string | null]>([
    ["zod", "zod"],
    ["windmill-client", "windmill-client"],
    ["@iarna/toml", "@iarna/toml"],
    ["@scope/pkg/sub/path", "@scope/pkg"],
    ["execa/sub", "execa"],
    ["node:fs/promises", null],
    ["fs", null],
    ["child_process", null],
    ["bun:test", null],
    ["./plan.ts", null],
    ["../../common/run.ts", null],
    ["/f/common/run.ts", null],
  ])("%s -> %s", (spec, want) => {
    expect(npmPackageOf(spec)).toBe(want);
  });
});

describe("flow walking", () => {
  const flow = {
    value: {
      modules: [
        { id: "a", value: { type: "rawscript", content: "!inline a.ts" } },
        {
          id: "pick",
          value: {
            type: "branchone",
            branches: [{ expr: "true", modules: [{ id: "b", value: { type: "script", path: "f/x/b" } }] }],
            default: [{ id: "c", value: { type: "forloopflow", modules: [{ id: "d", value: { type: "rawscript", content: "!inline  d.ts " } }] } }],
          },
        },
        { id: "all", value: { type: "branchall", branches: [{ modules: [{ id: "e", value: { type: "identity" } }] }] } },
      ],
      failure_module: { id: "failure", value: { type: "rawscript", content: "!inline f.ts" } },
      preprocessor_module: { id: "pre", value: { type: "rawscript", content: "code" } },
    },
  };

  it("visits top-level, branch, default, loop, failure and preprocessor modules", () => {
    expect(flowModules(flow).map((m) => m.module.id)).toEqual(["a", "pick", "b", "c", "d", "all", "e", "failure", "pre"]);
    expect(flowModules(flow).find((m) => m.module.id === "d")!.where).toBe("modules[1] (pick).default[0] (c).modules[0] (d)");
  });

  it("finds every !inline reference with its place in the document", () => {
    expect(inlineRefs(flow)).toEqual([
      { at: "value.modules[0].value.content", file: "a.ts" },
      { at: "value.modules[1].value.default[0].value.modules[0].value.content", file: "d.ts" },
      { at: "value.failure_module.value.content", file: "f.ts" },
    ]);
  });
});

describe("schema inference", () => {
  const code = 'export async function main(a: string, n: number = 3, e: "x" | "y" = "x", l: string[] = [], o?: boolean) {}';

  it("gives Windmill's properties, defaults and required", () => {
    const s = inferScriptSchema(code, undefined);
    expect(s.required).toEqual(["a"]);
    expect(s.properties.n).toMatchObject({ type: "number", default: 3 });
    expect(s.properties.e).toMatchObject({ type: "string", enum: ["x", "y"], default: "x" });
    expect(s.properties.l).toMatchObject({ type: "array", items: { type: "string" }, default: [] });
    expect(s.properties.o).toMatchObject({ type: "boolean" });
  });

  it("what scriptSchemaFor writes passes compareScriptSchema, and keeps descriptions", () => {
    const written = scriptSchemaFor(code, { properties: { a: { type: "string", description: "The a." } } });
    expect(compareScriptSchema(code, written)).toEqual([]);
    expect(written.properties.a.description).toBe("The a.");
    expect(written.order).toEqual(["a", "n", "e", "l", "o"]);
    expect(JSON.stringify(written)).not.toContain("null");
  });

  it("a library (no main) has no main", async () => {
    const { parseMain } = await import("../harness/conformance.ts");
    expect(parseMain("export function helper() {}").hasMain).toBe(false);
    expect(parseMain("export async function main() {}").hasMain).toBe(true);
    expect(() => parseMain("export async function main( {")).toThrow(/cannot read/);
  });
});

describe("valueMisfit", () => {
  const enumProp = { type: "string", enum: ["gcc", "clang"] };
  it.each<[object | undefined, unknown, string | null]>([
    [{ type: "string" }, "x", null],
    [{ type: "string" }, 3, "expected string, got 3"],
    [{ type: "number" }, 2.5, null],
    [{ type: "integer" }, 2.5, "expected integer, got 2.5"],
    [{ type: "integer" }, 2, null],
    [{ type: "boolean" }, "true", 'expected boolean, got "true"'],
    [enumProp, "clang", null],
    [enumProp, "icc", 'expected one of ["gcc","clang"], got "icc"'],
    [{ type: "array", items: { type: "string", enum: ["a"] } }, ["a", "a"], null],
    [{ type: "array", items: { type: "string", enum: ["a"] } }, ["b"], 'an item: expected one of ["a"], got "b"'],
    [{ type: "array" }, "a", 'expected array, got "a"'],
    [{ type: "object" }, { any: 1 }, null],
    [{ type: "string" }, null, null],
    [undefined, 5, null],
  ])("%j with %j", (prop, value, want) => {
    expect(valueMisfit(prop as Record<string, unknown> | undefined, value)).toBe(want);
  });
});
