// f/qsu/bringup is generated from its sub-flows' inputs (f/qsu/bringup/inputs.ts; the
// committed file equals the generator's output: tests/unit/flow-forms.test.ts). These
// checks read the committed flow file and run its first step: each flow module passes
// every field of its sub-flow's form, read from check_inputs' result; each form group
// mirrors its sub-flow's fields without copying their defaults; check_inputs refuses a
// bad field of any group or the boot fields, naming it as the user wrote it, before any
// build runs; an empty group reaches the sub-flow as nulls, which it fills with its own
// defaults (a Windmill server sends an unset transform as null).

import { mkdtempSync, rmSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evalExpr } from "../../cli/engine/expr.ts";
import { formSchema, parseInputs } from "../../f/common/inputs.ts";
import { BootFields, Inputs as BootInputs } from "../../f/qsu/boot/inputs.ts";
import { main as checkInputs } from "../../f/qsu/bringup/check_inputs.ts";
import { GROUPS } from "../../f/qsu/bringup/inputs.ts";

const REPO = resolve(import.meta.dirname, "../..");
type Json = Record<string, any>;
const load = (path: string): Json => parse(readFileSync(join(REPO, `${path}__flow/flow.yaml`), "utf8"));
const flow = load("f/qsu/bringup");
const modules = flow.value.modules as Json[];
const byId = (id: string) => modules.find((m) => m.id === id)!;
const without = (o: Json, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

// check_inputs looks for provisioned Bares; an empty Workbench has none.
let wb: string;
const saved = process.env.KDEVFLOW_WORKBENCH;
beforeAll(() => {
  wb = mkdtempSync(join(tmpdir(), "kdevflow-bringup-unit-"));
  process.env.KDEVFLOW_WORKBENCH = wb;
});
afterAll(() => {
  if (saved === undefined) delete process.env.KDEVFLOW_WORKBENCH;
  else process.env.KDEVFLOW_WORKBENCH = saved;
  rmSync(wb, { recursive: true, force: true });
});

async function refusal(input: Json): Promise<string> {
  return checkInputs(input).then(
    () => "accepted",
    (e: Error) => `${e.name}: ${e.message}`,
  );
}

describe("f/qsu/bringup", () => {
  it("checks every input first, runs the four builds as flow modules, then the boot steps, on one worker", () => {
    expect(modules.map((m) => m.id)).toEqual(["check_inputs", "workbench", "kernel", "qemu", "closure", "boot_plan", "boot_apply", "boot_wait_ready"]);
    for (const g of GROUPS) expect(byId(g.id).value).toMatchObject({ type: "flow", path: g.flow });
    expect(byId("check_inputs").value.input_transforms).toEqual({ flow_input: { type: "javascript", expr: "flow_input" } });
    expect(flow.value.same_worker).toBe(true);
  });

  describe.each(GROUPS.map((g) => [g.id, g] as const))("the %s module", (id, g) => {
    const sub = load(g.flow);
    const transforms = byId(id).value.input_transforms as Json;
    const groupSchema = flow.schema.properties[g.group];

    it(`passes every field of ${g.flow}'s form, read from check_inputs' result`, () => {
      expect(Object.keys(transforms)).toEqual(sub.schema.order);
      for (const k of groupSchema.order) expect(transforms[k]).toEqual({ type: "javascript", expr: `results.check_inputs.${g.group}.${k}` });
    });

    it(`mirrors ${g.flow}'s fields (type, choices, items, showExpr) but leaves their defaults to ${g.flow}`, () => {
      for (const [k, p] of Object.entries<Json>(groupSchema.properties)) {
        expect(without(p, "description", "default"), `${g.group}.${k}`).toEqual(without(sub.schema.properties[k], "description", "default"));
        if (!(g.defaults && k in g.defaults)) expect(p.default, `${g.group}.${k} has a default of its own`).toBeUndefined();
      }
    });

    it(`an empty ${g.group} group reaches ${g.flow} as nulls, which it parses to its own defaults (plus the bring-up's)`, async () => {
      const checked = await checkInputs({ vm: "dev" });
      const args: Json = {};
      for (const [k, t] of Object.entries<Json>(transforms)) args[k] = (await evalExpr(t.expr, { flow_input: {}, results: { check_inputs: checked }, previous_result: null })) ?? null;
      const got = parseInputs(g.inputs, args);
      const defaults = parseInputs(g.inputs, { ...(g.defaults ?? {}), ...(g.fromTop ? { vm: "dev" } : {}) });
      expect(got).toEqual(defaults);
    });
  });

  it("kernel.git_ref defaults to v6.18, so --set vm=dev is a complete input", async () => {
    const checked = await checkInputs({ vm: "dev" });
    expect(checked.kernel).toEqual({ git_ref: "v6.18" });
    expect(flow.schema.required).toEqual(["vm"]);
    expect(flow.schema.properties.kernel.properties.git_ref.default).toBe("v6.18");
  });

  it("the closure gets the bring-up's vm; its group does not repeat it", () => {
    expect(byId("closure").value.input_transforms.vm).toEqual({ type: "javascript", expr: "results.check_inputs.vm" });
    expect(flow.schema.properties.nix.order).not.toContain("vm");
  });

  it("feeds the boot plan the parsed boot fields, the builds' results and the closure's shares", () => {
    expect(byId("boot_plan").value.input_transforms.flow_input.expr).toBe(
      "({ ...results.check_inputs.boot, kernel: results.kernel, qemu: results.qemu, closure: results.closure, shares: results.check_inputs.boot_shares })",
    );
  });

  it("the boot fields are f/qsu/boot's form fields, defaults included", () => {
    const boot = formSchema(BootFields) as Json;
    expect(flow.schema.order).toEqual(["vm", "workbench", "kernel", "qemu", "nix", ...boot.order.filter((k: string) => k !== "vm")]);
    for (const k of boot.order) expect(flow.schema.properties[k], k).toEqual(boot.properties[k]);
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

describe("f/qsu/bringup/check_inputs: every group and boot field before any build", () => {
  it("returns what the user set per group, the parsed boot fields and the closure's shares as the boot exports them", async () => {
    const checked = await checkInputs({ vm: "dev", qemu: { method: "nix", target_list: null }, memory_mb: 2048, nix: { shares: [{ source: "/home/me/src", read_only: true }] } });
    expect(checked.qemu).toEqual({ method: "nix" });
    expect(checked.boot).toMatchObject({ vm: "dev", memory_mb: 2048, cpus: 1, ssh_port: 2222 });
    // A share two levels deep gets a tag with '-', which the boot planner accepts too (one rule).
    expect(checked.boot_shares).toEqual([{ tag: "home_me_src", path: "/home/me/src", readonly: true }]);
    expect(() => parseInputs(BootInputs, { vm: "dev", kernel: {}, qemu: {}, closure: {}, shares: checked.boot_shares })).not.toThrow();
  });

  it.each([
    [{ vm: "../x" }, /^InputError: vm: expected a name of at most 64 letters/],
    [{ vm: "dev", memory_mb: 0 }, /^InputError: memory_mb: expected a whole number of MiB greater than 0, got 0\.$/],
    [{ vm: "dev", ssh_port: 70000 }, /^InputError: ssh_port: expected a TCP port from 1 to 65535, or 0 for no SSH forward, got 70000\.$/],
    [{ vm: "dev", qemu: { target_list: [] } }, /^InputError: qemu\.target_list: expected a non-empty list of QEMU targets/],
    [{ vm: "dev", qemu: { method: "apt" } }, /^InputError: qemu\.method: expected one of "make" or "nix", got "apt"\.$/],
    [{ vm: "dev", kernel: { git_rf: "v6.1" } }, /^InputError: kernel\.git_rf: expected one of the fields of kernel \(git_ref, /],
    [{ vm: "dev", kernel: { git_ref: "" } }, /^InputError: kernel\.git_ref: expected a tag, branch or commit of the linux Bare/],
    [{ vm: "dev", kernel: { nixos_flake: "relative/flake" } }, /^InputError: kernel\.nixos_flake: expected a flake reference/],
    [{ vm: "dev", workbench: { sources: [{ name: "linux", url: "not a url" }] } }, /^InputError: workbench\.sources\[0\]\.url: expected a git URL/],
    [{ vm: "dev", nix: { vm: "other" } }, /^InputError: nix\.vm: expected no vm in the nix group/],
    [{ vm: "dev", nix: { source_overrides: [{ package: "ltp", url: "not-a-url" }] } }, /^InputError: nix\.source_overrides\[0\]\.url: expected an absolute path \(or path:\/\.\.\.\), or a git URL/],
    [{ vm: "dev", nix: { shares: [{ source: "/srv", tag: "store" }] } }, /^InputError: nix\.shares\[0\]\.tag: expected a share tag/],
  ])("%j is refused in one sentence naming the field", async (input, sentence) => {
    expect(await refusal(input)).toMatch(sentence);
  });
});
