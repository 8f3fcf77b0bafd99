// The shape of f/kernel/selftests' flow.yaml: one step, run, which checks every input
// before it touches the guest, runs the tests and writes the result set; the form is the
// one inputs.ts generates.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { formSchema } from "../../f/common/inputs.ts";
import { Inputs } from "../../f/kernel/selftests/inputs.ts";

const root = resolve(import.meta.dirname, "../..");
const flow = parse(readFileSync(join(root, "f/kernel/selftests__flow/flow.yaml"), "utf8"));
type Module = { id: string; value: { path: string; input_transforms: Record<string, { type: string; expr?: string }> }; skip_if?: unknown };
const modules = flow.value.modules as Module[];

describe("f/kernel/selftests flow.yaml", () => {
  it("is one step on one worker, taking flow_input whole", () => {
    expect(flow.value.same_worker).toBe(true);
    expect(modules.map((m) => [m.id, m.value.path])).toEqual([["run", "f/kernel/selftests/run"]]);
    expect(modules[0]!.skip_if).toBeUndefined();
    expect(modules[0]!.value.input_transforms).toEqual({ flow_input: { type: "javascript", expr: "flow_input" } });
  });

  it("has the form inputs.ts generates: the VM, the kernel, the subset, the timeout, the label", () => {
    expect(flow.schema).toEqual(formSchema(Inputs));
    expect(flow.schema.order).toEqual(["vm", "kernel", "tests", "timeout_s", "label"]);
    expect(flow.schema.required).toEqual(["vm", "kernel"]);
    expect(flow.schema.properties.timeout_s).toMatchObject({ default: 45, minimum: 1 });
  });
});
