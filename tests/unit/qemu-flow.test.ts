// The f/qemu/build flow file against the code it drives: the form offers what the
// planner accepts, its defaults are the steps' defaults, and each branch runs the seed's
// steps in the seed's order.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseMain } from "../harness/conformance.ts";
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

  it("has the defaults check_inputs has", () => {
    const args = parseMain(readFileSync(join(ROOT, "f/qemu/build/check_inputs.ts"), "utf8")).args;
    for (const a of args) expect(props[a.name]?.default, a.name).toEqual(a.default);
    expect(props.qemu_ref.default).toBe("v11.0.0");
  });

  it("passes every form field to check_inputs that it takes", () => {
    const first = flow.value.modules[0];
    expect(first.id).toBe("check_inputs");
    for (const k of Object.keys(first.value.input_transforms)) expect(Object.keys(props)).toContain(k);
  });

  it("runs the seed's steps in order in the make branch and ends both branches with collect", () => {
    const method = flow.value.modules[1];
    expect(method.value.type).toBe("branchone");
    expect(method.value.default.map((m: { id: string }) => m.id)).toEqual(["prepare_worktree", "configure", "compile", "devtools", "install", "publish", "collect"]);
    const nix = method.value.branches[0];
    expect(nix.expr).toBe("results.check_inputs.method === 'nix'");
    expect(nix.modules.map((m: { id: string }) => m.id)).toEqual(["nix_prepare_worktree", "nix_package", "nix_publish", "nix_collect"]);
    expect(nix.modules.at(-1).value.path).toBe("f/qemu/build/collect");
    expect(method.value.default.at(-1).value.path).toBe("f/qemu/build/collect");
    expect(flow.value.same_worker).toBe(true);
  });
});
