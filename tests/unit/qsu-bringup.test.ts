import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { BRINGUP_FLOW, composeBringup, REPO, renderBringup, rewriteExpr, SUBFLOWS } from "./qsu-compose.ts";

if (process.env.KDEVFLOW_REGENERATE === "1") writeFileSync(BRINGUP_FLOW, renderBringup());

type Json = Record<string, any>;
function walk(modules: Json[], visit: (m: Json) => void) {
  for (const m of modules) {
    visit(m);
    if (m.value?.type === "branchone") {
      for (const b of m.value.branches) walk(b.modules, visit);
      walk(m.value.default ?? [], visit);
    }
  }
}

describe("f/qsu/bringup", () => {
  const flow = parse(readFileSync(BRINGUP_FLOW, "utf8"));

  it("is the composition of the current sub-flows (regenerate with KDEVFLOW_REGENERATE=1)", () => {
    expect(flow).toEqual(composeBringup());
  });

  it("runs workbench init, the kernel, QEMU and closure builds, then the boot steps, on one worker", () => {
    const top = flow.value.modules.map((m: Json) => m.id.split("_")[0]);
    expect([...new Set(top)]).toEqual(["workbench", "kernel", "qemu", "nix", "boot"]);
    expect(flow.value.modules.slice(-3).map((m: Json) => m.id)).toEqual(["boot_plan", "boot_apply", "boot_wait_ready"]);
    expect(flow.value.same_worker).toBe(true);
  });

  it("points every script at a file that exists and every results reference at an earlier module", () => {
    const seen = new Set<string>();
    walk(flow.value.modules, (m) => {
      if (m.value.type === "script") expect(existsSync(join(REPO, `${m.value.path}.ts`)), m.value.path).toBe(true);
      const exprs = [m.skip_if?.expr, m.stop_after_if?.expr, ...Object.values<Json>(m.value.input_transforms ?? {}).map((t) => t.expr), ...(m.value.branches ?? []).map((b: Json) => b.expr)].filter(Boolean);
      for (const e of exprs) for (const [, id] of (e as string).matchAll(/\bresults\.(\w+)/g)) expect(seen.has(id!), `${m.id} reads results.${id}`).toBe(true);
      seen.add(m.id);
    });
  });

  it("feeds the boot plan the manifests the builds return", () => {
    const plan = flow.value.modules.find((m: Json) => m.id === "boot_plan");
    expect(plan.value.input_transforms.kernel.expr).toBe("results.kernel_collect");
    expect(plan.value.input_transforms.qemu.expr).toMatch(/^results\.qemu_/);
    expect(plan.value.input_transforms.closure.expr).toBe("results.nix_build_closure");
    expect(plan.value.input_transforms.vm.expr).toBe("flow_input.vm");
  });

  it("exports the closure's shares (declared once, in the nix group) under the tags render_config gave them", async () => {
    const plan = flow.value.modules.find((m: Json) => m.id === "boot_plan");
    expect(flow.schema.order).not.toContain("shares");
    const { evalExpr } = await import("../../cli/engine/expr.ts");
    const results = { nix_render_config: { shares: [{ tag: "src", source: "/home/me/src", target: "/src", read_only: true }, { tag: "x", source: "/x", target: "/x", read_only: false }] } };
    const got = await evalExpr(plan.value.input_transforms.shares.expr, { flow_input: {}, results, previous_result: null });
    expect(got).toEqual([{ tag: "src", path: "/home/me/src", readonly: true }, { tag: "x", path: "/x", readonly: false }]);
    expect(await evalExpr(plan.value.input_transforms.shares.expr, { flow_input: {}, results: { nix_render_config: {} }, previous_result: null })).toEqual([]);
  });

  it("groups each build's form under its name and shares vm with the closure", () => {
    expect(flow.schema.order.slice(0, 5)).toEqual(["vm", "workbench", "kernel", "qemu", "nix"]);
    expect(flow.schema.properties.nix.order).not.toContain("vm");
    expect(flow.schema.properties.kernel.required).toEqual(["git_ref"]);
  });

  it.each([
    ["results.validate.git_ref", "results.kernel_validate.git_ref"],
    ["flow_input.label ?? ''", "flow_input.kernel.label ?? ''"],
    ["results.other.x", "results.other.x"],
  ])("rewrites %s as %s for the kernel", (expr, want) => {
    expect(rewriteExpr(expr, SUBFLOWS[1]!, new Set(["validate"]))).toBe(want);
  });
  it("gives nix the bring-up's vm", () => expect(rewriteExpr("flow_input.vm", SUBFLOWS[3]!, new Set())).toBe("flow_input.vm"));
});
