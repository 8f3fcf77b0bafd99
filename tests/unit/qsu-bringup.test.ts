// f/qsu/bringup is a flow of flow modules (workbench init, kernel, QEMU and closure
// builds) followed by the f/qsu/boot steps. These checks read the committed flow files:
// each flow module points at an existing flow and passes only inputs of that flow's
// form; each form group mirrors its sub-flow's fields without copying their defaults;
// the boot steps get the builds' manifests. The input_transforms-vs-form check of every
// flow in f/ is tests/integration/windmill-conformance.test.ts (checkFlowWiring).

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { evalExpr } from "../../cli/engine/expr.ts";
import { validateInputs } from "../../cli/engine/schema.ts";
import { main as bootShares } from "../../f/qsu/bringup/boot_shares.ts";

const REPO = resolve(import.meta.dirname, "../..");
type Json = Record<string, any>;
const load = (path: string): Json => parse(readFileSync(join(REPO, `${path}__flow/flow.yaml`), "utf8"));
const flow = load("f/qsu/bringup");
const modules = flow.value.modules as Json[];
const byId = (id: string) => modules.find((m) => m.id === id)!;

/** Flow module id -> [sub-flow path, form group]. */
const BUILDS: Record<string, [string, string]> = {
  workbench: ["f/workbench/init", "workbench"],
  kernel: ["f/kernel/build", "kernel"],
  qemu: ["f/qemu/build", "qemu"],
  closure: ["f/nix/build", "nix"],
};

const without = (o: Json, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

describe("f/qsu/bringup", () => {
  it("runs the four builds as flow modules, then the boot steps, on one worker", () => {
    expect(modules.map((m) => m.id)).toEqual(["workbench", "kernel", "qemu", "closure", "boot_shares", "boot_plan", "boot_apply", "boot_wait_ready"]);
    for (const [id, [path]] of Object.entries(BUILDS)) expect(byId(id).value).toMatchObject({ type: "flow", path });
    expect(flow.value.same_worker).toBe(true);
  });

  describe.each(Object.entries(BUILDS))("the %s module", (id, [path, group]) => {
    const sub = load(path);
    const transforms = byId(id).value.input_transforms as Json;
    const groupSchema = flow.schema.properties[group];

    it(`passes every field of the ${group} group to ${path}, and only inputs of its form`, () => {
      const fields = Object.keys(sub.schema.properties);
      for (const k of Object.keys(transforms)) expect(fields, `${id}.${k}`).toContain(k);
      for (const k of groupSchema.order) expect(transforms[k], `${id}.${k}`).toEqual({ type: "javascript", expr: `flow_input.${group}?.${k}` });
      expect(Object.keys(groupSchema.properties).sort()).toEqual([...groupSchema.order].sort());
    });

    it(`gives every required input of ${path} that has no default`, () => {
      for (const r of sub.schema.required ?? []) if (sub.schema.properties[r].default === undefined) expect(Object.keys(transforms)).toContain(r);
    });

    it(`mirrors ${path}'s fields (type, choices, items, showExpr) but leaves their defaults to ${path}`, () => {
      for (const [k, p] of Object.entries<Json>(groupSchema.properties)) {
        expect(without(p, "description", "default"), `${group}.${k}`).toEqual(without(sub.schema.properties[k], "description", "default"));
        if (!(group === "kernel" && k === "git_ref")) expect(p.default, `${group}.${k} has a default of its own`).toBeUndefined();
      }
    });

    it(`an empty ${group} group becomes the inputs ${path}'s own form fills with its defaults`, async () => {
      const input = validateInputs(flow.schema, { vm: "dev" });
      const args: Json = {};
      for (const [k, t] of Object.entries<Json>(transforms)) {
        const v = await evalExpr(t.expr, { flow_input: input, results: {}, previous_result: null });
        if (v !== undefined) args[k] = v;
      }
      const filled = validateInputs(sub.schema, args);
      for (const [k, p] of Object.entries<Json>(sub.schema.properties)) {
        if (k in args) continue;
        if (p.default !== undefined) expect(filled[k], `${path} ${k}`).toEqual(p.default);
      }
    });
  });

  it("kernel.git_ref defaults to v6.18, so --set vm=dev is a complete input", async () => {
    const input = validateInputs(flow.schema, { vm: "dev" });
    expect(input.kernel).toEqual({ git_ref: "v6.18" });
    expect(flow.schema.required).toEqual(["vm"]);
    expect(await evalExpr(byId("kernel").value.input_transforms.git_ref.expr, { flow_input: input, results: {}, previous_result: null })).toBe("v6.18");
  });

  it("a group field given on the bring-up reaches the sub-flow; a wrong one is refused naming the group", () => {
    expect(validateInputs(flow.schema, { vm: "dev", qemu: { method: "nix" } }).qemu).toEqual({ method: "nix" });
    expect(() => validateInputs(flow.schema, { vm: "dev", qemu: { method: "apt" } })).toThrow('qemu.method: expected one of "make" or "nix", got "apt".');
    expect(() => validateInputs(flow.schema, { vm: "dev", kernel: { git_rf: "v6.1" } })).toThrow(/^kernel\.git_rf: expected one of the fields of kernel/);
  });

  it("the closure gets the bring-up's vm; its group does not repeat it", () => {
    expect(byId("closure").value.input_transforms.vm).toEqual({ type: "javascript", expr: "flow_input.vm" });
    expect(flow.schema.properties.nix.order).not.toContain("vm");
  });

  it("feeds the boot plan the results of the builds and the shares step", () => {
    const t = byId("boot_plan").value.input_transforms;
    expect(t.kernel.expr).toBe("results.kernel");
    expect(t.qemu.expr).toBe("results.qemu");
    expect(t.closure.expr).toBe("results.closure");
    expect(t.shares.expr).toBe("results.boot_shares");
    expect(t.vm.expr).toBe("flow_input.vm");
    expect(byId("boot_shares").value.input_transforms.shares.expr).toBe("flow_input.nix?.shares");
  });

  it("the boot inputs are f/qsu/boot's form fields, defaults included (the boot steps are scripts, not a flow module)", () => {
    const boot = load("f/qsu/boot");
    const fromBuilds = ["kernel", "qemu", "closure", "shares"];
    const bootInputs = (boot.schema.order as string[]).filter((k) => !fromBuilds.includes(k));
    expect(flow.schema.order).toEqual(["vm", "workbench", "kernel", "qemu", "nix", ...bootInputs.filter((k) => k !== "vm")]);
    for (const k of bootInputs) expect(flow.schema.properties[k], k).toEqual(boot.schema.properties[k]);
    // Every boot step of f/qsu/boot is here, with the same inputs.
    for (const m of boot.value.modules as Json[]) {
      expect(Object.keys(byId(`boot_${m.id}`).value.input_transforms).sort()).toEqual(Object.keys(m.value.input_transforms).sort());
    }
  });

  it("every results.<id> an expression reads is a step before it", () => {
    const seen = new Set<string>();
    for (const m of modules) {
      for (const t of Object.values<Json>(m.value.input_transforms ?? {})) {
        for (const [, id] of String(t.expr ?? "").matchAll(/\bresults\.(\w+)/g)) expect(seen.has(id!), `${m.id} reads results.${id}`).toBe(true);
      }
      seen.add(m.id);
    }
  });
});

describe("f/qsu/bringup/boot_shares", () => {
  it.each([
    ["no shares", [], []],
    [
      "tags from the guest path unless given, read_only to readonly",
      [
        { source: "/home/me/src", target: "/src", read_only: true },
        { source: "/data", tag: "x" },
      ],
      [
        { tag: "src", path: "/home/me/src", readonly: true },
        { tag: "x", path: "/data", readonly: false },
      ],
    ],
  ])("%s", async (_name, shares, want) => {
    expect(await bootShares(shares as never)).toEqual(want);
  });

  it("refuses what the closure's planner refuses (a relative source)", async () => {
    await expect(bootShares([{ source: "rel/dir" }])).rejects.toThrow(/^shares\[0\]\.source: /);
  });
});
