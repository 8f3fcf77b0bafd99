// The shape of f/kernel/build's flow.yaml: the steps in the order, the config
// branchone, what reuse skips, and the form's inputs.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = resolve(import.meta.dirname, "../..");
const flow = parse(readFileSync(join(root, "f/kernel/build__flow/flow.yaml"), "utf8"));
const modules = flow.value.modules as { id: string; value: { type: string; path?: string; branches?: { expr: string; modules: { value: { path: string } }[] }[]; default?: { value: { path: string } }[] }; skip_if?: { expr: string } }[];

describe("f/kernel/build flow.yaml", () => {
  it("runs the steps in order on one worker", () => {
    expect(flow.value.same_worker).toBe(true);
    expect(modules.map((m) => m.id)).toEqual(["validate", "prepare_worktree", "apply_series", "configure", "identify", "compile", "devtools", "install", "publish", "collect"]);
    expect(modules[1]!.value.path).toBe("f/workbench/prepare_worktree");
  });

  it("applies a series only when one is given", () => {
    expect(modules.find((m) => m.id === "apply_series")!.skip_if!.expr).toBe("!flow_input.b4_series");
  });

  it("branches configure on config_method, make_target by default", () => {
    const c = modules.find((m) => m.id === "configure")!.value;
    expect(c.type).toBe("branchone");
    expect(c.branches!.map((b) => [b.expr, b.modules[0]!.value.path])).toEqual([
      ["flow_input.config_method === 'preset'", "f/kernel/build/configure_preset"],
      ["flow_input.config_method === 'fragments'", "f/kernel/build/configure_fragments"],
    ]);
    expect(c.default![0]!.value.path).toBe("f/kernel/build/configure_make_target");
  });

  it("skips compile, devtools, install and publish when identify reuses a published build, and always collects", () => {
    for (const id of ["compile", "devtools", "install", "publish"]) expect(modules.find((m) => m.id === id)!.skip_if!.expr).toBe("results.identify.reused === true");
    expect(modules.find((m) => m.id === "collect")!.skip_if).toBeUndefined();
  });

  it("offers the issue's inputs, label only with custom_label", () => {
    expect(flow.schema.order).toEqual([
      "git_ref", "b4_series", "custom_label", "label", "config_method", "make_target", "preset", "fragments", "arch", "compiler",
      "ccache", "ccache_max_size", "compile_commands", "make_args", "reproducible", "shared", "reuse", "recreate_worktree", "wipe_build", "nixos_flake",
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
