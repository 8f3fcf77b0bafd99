// The shape of f/kernel/build's flow.yaml: the shared pipeline steps and the kernel's own
// in the order, what reuse skips (and that no step reads a skipped step's result
// except behind the skip condition), and the form generated from the inputs schema.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { formSchema } from "../../f/common/inputs.ts";
import { Inputs } from "../../f/kernel/build/inputs.ts";

const root = resolve(import.meta.dirname, "../..");
const flow = parse(readFileSync(join(root, "f/kernel/build__flow/flow.yaml"), "utf8"));
type Module = { id: string; value: { type: string; path?: string; input_transforms: Record<string, { type: string; expr?: string; value?: unknown }> }; skip_if?: { expr: string } };
const modules = flow.value.modules as Module[];
const byId = (id: string) => modules.find((m) => m.id === id)!;

describe("f/kernel/build flow.yaml", () => {
  it("runs the steps in order on one worker", () => {
    expect(flow.value.same_worker).toBe(true);
    expect(modules.map((m) => m.id)).toEqual(["check_inputs", "prepare_worktree", "apply_series", "configure", "identify", "compile", "devtools", "install", "publish", "collect"]);
    expect(modules.map((m) => m.value.path)).toEqual([
      "f/pipeline/check_inputs",
      "f/workbench/prepare_worktree",
      "f/kernel/build/apply_series",
      "f/kernel/build/configure",
      "f/pipeline/identify",
      "f/kernel/build/compile",
      "f/kernel/build/devtools",
      "f/kernel/build/install",
      "f/pipeline/publish",
      "f/pipeline/collect",
    ]);
  });

  it("parses flow_input once, in check_inputs; no later step reads it", () => {
    expect(byId("check_inputs").value.input_transforms.flow_input).toEqual({ type: "javascript", expr: "flow_input" });
    expect(JSON.stringify(modules.slice(1))).not.toMatch(/flow_input/);
  });

  it("applies a series only when one is given, and identify reads apply_series only behind that condition", () => {
    expect(byId("apply_series").skip_if!.expr).toBe("!results.check_inputs.inputs.b4_series");
    expect(byId("identify").value.input_transforms.applied!.expr).toBe("results.check_inputs.inputs.b4_series ? results.apply_series : null");
  });

  it("checks out the commit check_inputs resolved, not the ref again", () => {
    expect(byId("prepare_worktree").value.input_transforms.ref!.expr).toBe("results.check_inputs.source.commit");
  });

  it("skips compile, devtools, install and publish when identify reuses a published build, and always collects", () => {
    for (const id of ["compile", "devtools", "install", "publish"]) expect(byId(id).skip_if!.expr).toBe("results.identify.reused");
    expect(byId("collect").skip_if).toBeUndefined();
    expect(byId("collect").value.input_transforms.manifest!.expr).toBe("results.identify.reused ? results.identify.manifest : results.publish");
  });

  it("has the form the inputs schema generates: the issue's inputs, label only with custom_label", () => {
    expect(flow.schema).toEqual(formSchema(Inputs));
    expect(flow.schema.order).toEqual([
      "git_ref", "b4_series", "custom_label", "label", "config_method", "make_target", "preset", "fragments", "arch", "compiler",
      "ccache", "ccache_max_size", "compile_commands", "make_args", "reproducible", "shared", "reuse", "recreate_worktree", "wipe_build", "nixos_flake", "devshell",
    ]);
    expect(Object.keys(flow.schema.properties).sort()).toEqual([...flow.schema.order].sort());
    expect(flow.schema.properties.label.showExpr).toBe("fields.custom_label === true");
    expect(flow.schema.properties.label.maxLength).toBe(40);
    expect(flow.schema.properties.config_method.enum).toEqual(["make_target", "preset", "fragments"]);
    expect(flow.schema.properties.compiler.enum).toEqual(["gcc", "clang"]);
    expect(flow.schema.properties.ccache_max_size.default).toBe("10G");
    expect(flow.schema.properties.compile_commands.default).toBe(true);
    expect(flow.schema.properties.reuse.default).toBe(true);
    expect(flow.schema.required).toEqual(["git_ref"]);
  });
});
