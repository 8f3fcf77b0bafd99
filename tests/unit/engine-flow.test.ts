// Flow paths, "did you mean", the structural check of flow.yaml, the `show` text, and the
// error object a step's failure becomes. Pure, table-driven.

import { describe, expect, it } from "vitest";
import { checkFlowShape, closestFlow, editDistance, normaliseFlowPath, unknownFlowMessage, type FlowFile } from "../../cli/engine/flow.ts";
import { renderForm, wrap } from "../../cli/engine/form.ts";
import { serialiseError } from "../../cli/engine/step_host.ts";
import { InputError } from "../../f/common/errors.ts";

describe("normaliseFlowPath", () => {
  it.each([
    ["f/qemu/build", "f/qemu/build"],
    ["f/qemu/build/", "f/qemu/build"],
    ["./f/qemu/build", "f/qemu/build"],
    ["f/qemu/build__flow", "f/qemu/build"],
    ["f/qemu/build__flow/", "f/qemu/build"],
    ["f/qemu/build__flow/flow.yaml", "f/qemu/build"],
    ["f/qemu/build.flow", "f/qemu/build"],
    ["f/kernel/build/sub", "f/kernel/build/sub"],
    ["u/alice/try", "u/alice/try"],
    ["build", null],
    ["", null],
    ["/etc/passwd", null],
    ["f/../etc", null],
    ["f//x", null],
  ])("%s -> %s", (input, expected) => {
    expect(normaliseFlowPath(input)).toBe(expected);
  });
});

describe("closestFlow", () => {
  const known = ["f/kernel/build", "f/qemu/build", "f/nix/build", "f/qsu/boot", "f/qsu/bringup", "f/workbench/init"];
  it.each([
    ["f/qemu/buld", "f/qemu/build"],
    ["f/qemu/biuld", "f/qemu/build"],
    ["f/kernal/build", "f/kernel/build"],
    ["f/qsu/bringpu", "f/qsu/bringup"],
    ["f/workbench/int", "f/workbench/init"],
    ["f/x/init", "f/workbench/init"], // far, but only one flow has that name
    ["f/zzz/yyyyyyyyyy", null],
  ])("%s -> %s", (wanted, expected) => {
    expect(closestFlow(wanted, known)).toBe(expected);
  });

  it("edit distance", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });

  it.each([
    [["f/qemu/build"], "f/qemu/buid", "flow f/qemu/buid: expected the path of a flow in the workspace (did you mean f/qemu/build?)."],
    [[], "f/a/b", "flow f/a/b: expected the path of a flow, but the workspace has none under f/."],
    [["f/a/one", "f/a/two"], "f/zzzzzz/qqqqqqqq", "flow f/zzzzzz/qqqqqqqq: expected the path of a flow in the workspace (one of: f/a/one, f/a/two)."],
  ])("unknown flow sentence for %j", (known, wanted, message) => {
    const err = unknownFlowMessage(wanted, known);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(message);
  });

  it("names what it looked for when that is not only a flow", () => {
    expect(unknownFlowMessage("f/qemu/publsh", ["f/qemu/build", "f/qemu/publish"], "flow or script").message).toBe(
      "path f/qemu/publsh: expected the path of a flow or script in the workspace (did you mean f/qemu/publish?).",
    );
  });

  it("a long list is not printed", () => {
    const many = Array.from({ length: 20 }, (_, i) => `f/a/flow${i}`);
    expect(unknownFlowMessage("f/zzzzzzzz/qqqqqqqqqq", many).message).toContain("run `kdevflow list` to see all 20");
  });
});

describe("checkFlowShape", () => {
  const script = (id: string) => ({ id, value: { type: "script", path: "f/a/s", input_transforms: {} } });
  it("accepts a flow with every supported module kind", () => {
    const doc = {
      value: {
        modules: [
          script("a"),
          { id: "b", value: { type: "rawscript", language: "bun", content: "!inline b.ts" } },
          { id: "c", value: { type: "branchone", branches: [{ expr: "true", modules: [script("c1")] }], default: [script("c2")] } },
          { id: "d", value: { type: "identity" }, skip_if: { expr: "false" }, stop_after_if: { expr: "true", skip_if_stopped: false }, timeout: 5 },
          { id: "e", value: { type: "flow", path: "f/kernel/build", input_transforms: { git_ref: { type: "javascript", expr: "flow_input.ref" } } }, retry: { constant: { attempts: 1, seconds: 0 } } },
        ],
        failure_module: { id: "failure", value: { type: "rawscript", language: "bun", content: "!inline f.ts" } },
      },
    };
    expect(() => checkFlowShape(doc, "f/x/y")).not.toThrow();
  });

  it("accepts settings that are present but off", () => {
    const doc = { value: { modules: [{ ...script("a"), continue_on_error: false, mock: { enabled: false }, sleep: null }] } };
    expect(() => checkFlowShape(doc, "f/x/y")).not.toThrow();
  });

  const bad: Array<[string, unknown, string]> = [
    ["not a mapping", [], "f/x/y flow.yaml: expected a mapping with summary, value and schema."],
    ["no modules", { value: {} }, "f/x/y value.modules: expected a list of modules."],
    ["a module without id", { value: { modules: [{ value: { type: "identity" } }] } }, "f/x/y value.modules[0].id: expected a non-empty string."],
    ["a duplicate id", { value: { modules: [script("a"), script("a")] } }, 'f/x/y value.modules[1].id: expected an id used by no other module, got "a".'],
    ["an unsupported type", { value: { modules: [{ id: "l", value: { type: "forloopflow" } }] } }, 'f/x/y module l: expected a module type the local runner supports (script, rawscript, branchone, identity, flow), got "forloopflow".'],
    ["a flow module without path", { value: { modules: [{ id: "k", value: { type: "flow" } }] } }, "f/x/y module k.value.path: expected a flow path like f/<folder>/<name>."],
    ["a flow module with a path that names no flow", { value: { modules: [{ id: "k", value: { type: "flow", path: "../kernel" } }] } }, 'f/x/y module k.value.path: expected a flow path like f/<folder>/<name>, got "../kernel".'],
    ["a flow module with a bad transform", { value: { modules: [{ id: "k", value: { type: "flow", path: "f/a/b", input_transforms: { x: 1 } } }] } }, "f/x/y module k input x: expected {type: static, value} or {type: javascript, expr}."],
    ["a rawscript in python", { value: { modules: [{ id: "p", value: { type: "rawscript", language: "python3", content: "x" } }] } }, 'f/x/y module p.value.language: expected bun (the only language the local runner runs), got "python3".'],
    ["a script without path", { value: { modules: [{ id: "s", value: { type: "script" } }] } }, "f/x/y module s.value.path: expected a script path."],
    ["a bad transform", { value: { modules: [{ id: "s", value: { type: "script", path: "f/a", input_transforms: { x: { type: "js" } } } }] } }, "f/x/y module s input x: expected {type: static, value} or {type: javascript, expr}."],
    ["a branch without expr", { value: { modules: [{ id: "b", value: { type: "branchone", branches: [{ modules: [] }], default: [] } }] } }, "f/x/y module b.value.branches[0]: expected a branch with expr and modules."],
    ["a duplicate id inside a branch", { value: { modules: [script("a"), { id: "b", value: { type: "branchone", branches: [], default: [script("a")] } }] } }, 'f/x/y module b.value.default[0].id: expected an id used by no other module, got "a".'],
    ["a zero timeout", { value: { modules: [{ ...script("a"), timeout: 0 }] } }, "f/x/y module a.timeout: expected a positive number of seconds, got 0."],
    ["continue_on_error (not implemented)", { value: { modules: [{ ...script("a"), continue_on_error: true }] } }, "f/x/y module a.continue_on_error: expected no such setting: the local runner does not implement it."],
    ["retry_if (not implemented)", { value: { modules: [{ ...script("a"), retry: { retry_if: { expr: "true" } } }] } }, "f/x/y module a.retry.retry_if: expected no such setting: the local runner does not implement it."],
    ["a flow-level skip_expr (not implemented)", { value: { modules: [], skip_expr: "true" } }, "f/x/y value.skip_expr: expected no such setting: the local runner does not implement it."],
    ["skip_if without expr", { value: { modules: [{ ...script("a"), skip_if: true }] } }, "f/x/y module a.skip_if: expected {expr: <javascript>}."],
  ];
  it.each(bad)("refuses %s", (_name, doc, message) => {
    expect(() => checkFlowShape(doc, "f/x/y")).toThrow(message);
  });
});

describe("renderForm", () => {
  it("lays the form out in order with types, defaults, choices, groups and showExpr", () => {
    const text = renderForm("f/qemu/build", {
      summary: "Build QEMU",
      description: "Builds QEMU from a ref.\nReuses a published build.",
      schema: {
        type: "object",
        order: ["qemu_ref", "target_list", "build"],
        required: ["qemu_ref"],
        properties: {
          build: {
            type: "object",
            description: "Build settings.",
            properties: { jobs: { type: "integer", default: 2, minimum: 1 } },
          },
          target_list: { type: "array", items: { type: "string", enum: ["x86_64-softmmu", "aarch64-softmmu"] }, default: ["x86_64-softmmu"] },
          qemu_ref: { type: "string", description: "Git ref.", maxLength: 100 },
          method: { type: "string", enum: ["make", "nix"], default: "make", title: "Build method" },
          flake: { type: "string", showExpr: "fields.method === 'nix'" },
          picker: { type: "object", format: "dynselect-refs" },
        },
      },
    });
    expect(text).toBe(
      [
        "f/qemu/build: Build QEMU",
        "  Builds QEMU from a ref.",
        "  Reuses a published build.",
        "",
        "Inputs (set with: kdevflow run f/qemu/build --set name=value, group.name=value for a group field):",
        "  qemu_ref: string, required",
        "      Git ref.",
        "      at most 100 characters",
        '  target_list: multiselect, default ["x86_64-softmmu"]',
        "      choices: x86_64-softmmu, aarch64-softmmu",
        "  build: group",
        "      Build settings.",
        "    jobs: integer, default 2",
        "        minimum 1",
        '  method "Build method": select, default "make"',
        "      choices: make, nix",
        "  flake: string",
        "      shown when: fields.method === 'nix'",
        "  picker: dynamic select",
        "",
      ].join("\n"),
    );
  });

  it("shows the fields of a list of objects", () => {
    const text = renderForm("f/a/b", {
      schema: {
        type: "object",
        properties: {
          sources: { type: "array", items: { type: "object", properties: { name: { type: "string" }, url: { type: "string" } }, required: ["name"] } },
        },
      },
    });
    expect(text).toContain("  sources: list of object\n      each item:\n        name: string, required\n        url: string\n");
  });

  it.each([
    ["short text stays on one line", "a b c", "  ", 20, ["  a b c"]],
    ["long text wraps at word boundaries", "aaaa bbbb cccc dddd", "  ", 12, ["  aaaa bbbb", "  cccc dddd"]],
    ["a word longer than the width stays whole", "x".repeat(30) + " y", "", 10, ["x".repeat(30), "y"]],
    ["empty text gives no line", "", "  ", 10, []],
  ])("wrap: %s", (_name, text, indent, width, expected) => {
    expect(wrap(text, indent, width)).toEqual(expected);
  });

  it("shows a field with an empty type (what Windmill writes for an untyped parameter) as any", () => {
    expect(renderForm("f/a/b", { schema: { type: "object", properties: { manifest: { type: "" } }, required: ["manifest"] } })).toContain("  manifest: any, required\n");
  });

  it("says when a flow takes no inputs", () => {
    expect(renderForm("f/a/b", { schema: { type: "object", properties: {} } })).toBe("f/a/b\n\nInputs: none\n");
  });
});

describe("serialiseError: a thrown value as Windmill's Bun wrapper writes it (windmill-worker/src/bun_executor.rs)", () => {
  it("keeps message, name, stack and step_id, and the error's own fields under extra", () => {
    const thrown = Object.assign(new Error("disk full"), { code: "ENOSPC", path: "/w", when: undefined });
    expect(serialiseError(thrown, "compile")).toEqual({ message: "disk full", name: "Error", stack: expect.stringContaining("disk full"), step_id: "compile", extra: { code: "ENOSPC", path: "/w" } });
    // An error that sets its name in its constructor: name stays out of extra.
    expect(serialiseError(new InputError("size", "small", "huge"), "check").extra).toEqual({ field: "size", expected: "small", got: "huge" });
  });

  it.each([
    ["a plain Error: no extra", new Error("bad"), { message: "bad", name: "Error" }],
    ["a TypeError", new TypeError("bad"), { message: "bad", name: "TypeError" }],
    ["an object: its fields under extra, no message", { code: 3 }, { extra: { code: 3 } }],
    ["a string: what getOwnPropertyNames sees in it", "ok", { extra: { "0": "o", "1": "k", length: 2 } }],
    ["null", null, {}],
  ])("%s", (_name, thrown, expected) => {
    const { stack: _stack, ...rest } = serialiseError(thrown, "");
    expect(rest).toEqual(expected);
  });

  it("leaves step_id out when the job is not a flow step", () => {
    expect(serialiseError(new Error("x"), "")).not.toHaveProperty("step_id");
  });
});

describe("unusedInputWarnings", () => {
  it("names input transforms that are not parameters of main", async () => {
    const { unusedInputWarnings } = await import("../../cli/engine/prepare.ts");
    const flow: FlowFile = {
      value: {
        modules: [
          { id: "a", value: { type: "script", path: "f/x/a", input_transforms: { ref: { type: "static", value: 1 }, reff: { type: "static", value: 2 } } } },
          { id: "b", value: { type: "script", path: "f/x/b", input_transforms: { ref: { type: "static", value: 1 } } } },
        ],
      },
    };
    const prepared = new Map([
      ["a", { file: "/w/f/x/a.ts", names: ["ref", "jobs"] }],
      ["b", { file: "/w/f/x/b.ts", names: [] }],
    ]);
    expect(unusedInputWarnings(flow, prepared)).toEqual([
      "step a: input reff is not a parameter of main (ref, jobs); it is not passed",
      "step b: input ref is not a parameter of main (none); it is not passed",
    ]);
  });
});
