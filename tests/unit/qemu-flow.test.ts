// The f/qemu/build flow file against the code it drives: the form is the inputs schema's
// (offering what the planner accepts), the first step parses flow_input with it, and each
// branch runs the seed's steps in the seed's order through the shared pipeline steps.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { formSchema } from "../../f/common/inputs.ts";
import { Inputs } from "../../f/qemu/build/inputs.ts";
import { DEFAULT_TARGETS, LABEL_MAX, TARGET_CHOICES } from "../../f/qemu/build/plan.ts";

const ROOT = join(import.meta.dirname, "../..");
const flow = parse(readFileSync(join(ROOT, "f/qemu/build__flow/flow.yaml"), "utf8"));
const props = flow.schema.properties;

describe("f/qemu/build flow.yaml", () => {
  it("offers exactly the planner's targets, x86_64-softmmu by default", () => {
    expect(props.target_list.items.enum).toEqual([...TARGET_CHOICES]);
    expect(props.target_list.default).toEqual(DEFAULT_TARGETS);
  });

  it("bounds the label like the planner and shows it only with custom_label", () => {
    expect(props.label.maxLength).toBe(LABEL_MAX);
    expect(props.label.showExpr).toBe("fields.custom_label === true");
    expect(props.nix_source.showExpr).toBe("fields.method === 'nix'");
  });

  it("has the form the inputs schema generates, with the seed's defaults", () => {
    expect(flow.schema).toEqual(formSchema(Inputs));
    expect(props.qemu_ref.default).toBe("v11.0.0");
    expect(props.method.default).toBe("make");
    expect(flow.schema.required).toEqual([]);
  });

  it("hands the whole flow_input to the shared check_inputs step, and nothing else reads flow_input", () => {
    const first = flow.value.modules[0];
    expect(first.id).toBe("check_inputs");
    expect(first.value.path).toBe("f/pipeline/check_inputs");
    expect(first.value.input_transforms).toEqual({ project: { type: "static", value: "qemu" }, flow_input: { type: "javascript", expr: "flow_input" } });
    const rest = JSON.stringify(flow.value.modules.slice(1));
    expect(rest).not.toMatch(/flow_input/);
  });

  it("runs the seed's steps in order in the make branch and ends both branches with the shared collect", () => {
    const method = flow.value.modules[1];
    expect(method.value.type).toBe("branchone");
    expect(method.value.default.map((m: { id: string }) => m.id)).toEqual(["prepare_worktree", "identify", "configure", "compile", "devtools", "install", "publish", "collect"]);
    const nix = method.value.branches[0];
    expect(nix.expr).toBe("results.check_inputs.inputs.method === 'nix'");
    expect(nix.modules.map((m: { id: string }) => m.id)).toEqual(["nix_prepare_worktree", "nix_package", "nix_publish", "nix_collect"]);
    expect(nix.modules.at(-1).value.path).toBe("f/pipeline/collect");
    expect(method.value.default.at(-1).value.path).toBe("f/pipeline/collect");
    expect(flow.value.same_worker).toBe(true);
  });

  it("skips the build steps and publish when identify reuses a build, and collect reads the reused manifest only then", () => {
    const make = flow.value.modules[1].value.default as { id: string; skip_if?: { expr: string }; value: { input_transforms: Record<string, { expr?: string }> } }[];
    for (const id of ["configure", "compile", "devtools", "install", "publish"]) expect(make.find((m) => m.id === id)!.skip_if!.expr).toBe("results.identify.reused");
    const collect = make.find((m) => m.id === "collect")!;
    expect(collect.skip_if).toBeUndefined();
    expect(collect.value.input_transforms.manifest!.expr).toBe("results.identify.reused ? results.identify.manifest : results.publish");
  });
});
