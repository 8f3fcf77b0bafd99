// Inputs declared once: every flow form in flow.yaml is what scripts/flow-forms.ts
// generates from the flow's inputs.ts, so a changed schema without a regenerated form
// fails here (run: bun scripts/flow-forms.ts --write).

import { describe, expect, it } from "vitest";
import { flowForms } from "../../scripts/flow-forms.ts";

const forms = await flowForms();

describe("flow forms are generated from the inputs schemas", () => {
  it.each(forms.filter((f) => f.generated !== null).map((f) => [f.flow, f] as const))("%s: flow.yaml is what its inputs.ts generates", (_flow, f) => {
    expect(f.current, `${f.file} is stale: run bun scripts/flow-forms.ts --write`).toBe(f.generated);
  });

  it("covers the build flows", () => {
    const generated = forms.filter((f) => f.generated !== null).map((f) => f.flow);
    for (const flow of ["f/kernel/build", "f/qemu/build"]) expect(generated).toContain(flow);
  });
});
