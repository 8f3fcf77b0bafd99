// How f/qsu/bringup__flow/flow.yaml is made: the local engine runs script, rawscript,
// branchone and identity modules but not `type: flow` modules, so bringup is the
// composition of the sub-flows' own modules, rewritten mechanically:
//   - every module id gets the sub-flow's prefix (kernel_validate, qemu_method, ...);
//   - `results.<id>` in any expression points at the prefixed id;
//   - `flow_input.<x>` reads the sub-flow's group (`flow_input.kernel.x`), except the
//     names shared by the whole bring-up (vm);
//   - the boot flow's modules follow, reading the manifests from the last module of
//     each build.
// tests/unit/qsu-bringup.test.ts checks the committed file equals this composition of
// the committed sub-flows, and rewrites it with KDEVFLOW_REGENERATE=1.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";

export const REPO = resolve(import.meta.dirname, "../..");
export const BRINGUP_FLOW = join(REPO, "f/qsu/bringup__flow/flow.yaml");

type Json = Record<string, any>;

export interface SubFlow {
  prefix: string;
  path: string;
  /** Group name in the bring-up form. */
  group: string;
  /** Inputs the bring-up gives the sub-flow itself rather than from its group. */
  shared: Record<string, string>;
  summary: string;
}

export const SUBFLOWS: SubFlow[] = [
  { prefix: "workbench", path: "f/workbench/init", group: "workbench", shared: {}, summary: "Workbench: mirrors and Bares (idempotent)" },
  { prefix: "kernel", path: "f/kernel/build", group: "kernel", shared: {}, summary: "Kernel: build or reuse" },
  { prefix: "qemu", path: "f/qemu/build", group: "qemu", shared: {}, summary: "QEMU: build or reuse" },
  { prefix: "nix", path: "f/nix/build", group: "nix", shared: { vm: "flow_input.vm" }, summary: "NixOS closure: build or reuse" },
];

export function loadFlow(path: string): Json {
  return parse(readFileSync(join(REPO, `${path}__flow/flow.yaml`), "utf8"));
}

function allIds(modules: Json[]): string[] {
  return modules.flatMap((m) => [
    m.id,
    ...(m.value?.type === "branchone" ? [...m.value.branches.flatMap((b: Json) => allIds(b.modules)), ...allIds(m.value.default ?? [])] : []),
  ]);
}

export function rewriteExpr(expr: string, sub: SubFlow, ids: ReadonlySet<string>): string {
  return expr
    .replace(/\bresults\.([A-Za-z_]\w*)/g, (all, id: string) => (ids.has(id) ? `results.${sub.prefix}_${id}` : all))
    .replace(/\bflow_input\.([A-Za-z_]\w*)/g, (_all, name: string) => sub.shared[name] ?? `flow_input.${sub.group}.${name}`);
}

function rewriteModules(modules: Json[], sub: SubFlow, ids: ReadonlySet<string>): Json[] {
  const ex = (e: string) => rewriteExpr(e, sub, ids);
  return modules.map((m) => {
    const out: Json = { ...m, id: `${sub.prefix}_${m.id}` };
    if (m.skip_if) out.skip_if = { ...m.skip_if, expr: ex(m.skip_if.expr) };
    if (m.stop_after_if) out.stop_after_if = { ...m.stop_after_if, expr: ex(m.stop_after_if.expr) };
    const v = m.value;
    if (v.type === "script" || v.type === "rawscript") {
      const transforms: Json = {};
      for (const [k, t] of Object.entries<Json>(v.input_transforms ?? {})) transforms[k] = t.type === "javascript" ? { ...t, expr: ex(t.expr) } : t;
      out.value = { ...v, input_transforms: transforms };
    } else if (v.type === "branchone") {
      out.value = {
        ...v,
        branches: v.branches.map((b: Json) => ({ ...b, expr: ex(b.expr), modules: rewriteModules(b.modules, sub, ids) })),
        default: rewriteModules(v.default ?? [], sub, ids),
      };
    }
    return out;
  });
}

/** The group's form: the sub-flow's form without the inputs the bring-up gives it. */
function groupSchema(schema: Json, sub: SubFlow, description: string): Json {
  const keep = (schema.order as string[]).filter((k) => !(k in sub.shared));
  return {
    type: "object",
    description,
    order: keep,
    properties: Object.fromEntries(keep.map((k) => [k, schema.properties[k]])),
    required: (schema.required ?? []).filter((k: string) => keep.includes(k)),
  };
}

export function composeBringup(): Json {
  const modules: Json[] = [];
  const groups: Json = {};
  const last: Record<string, string> = {};
  for (const sub of SUBFLOWS) {
    const flow = loadFlow(sub.path);
    const ids = new Set(allIds(flow.value.modules));
    const rewritten = rewriteModules(flow.value.modules, sub, ids);
    rewritten[0]!.summary = `${sub.summary}: ${rewritten[0]!.summary ?? rewritten[0]!.id}`;
    modules.push(...rewritten);
    last[sub.prefix] = rewritten[rewritten.length - 1]!.id;
    groups[sub.group] = groupSchema(flow.schema, sub, `Inputs of ${sub.path} (see its form): ${flow.summary}.`);
  }
  const boot = loadFlow("f/qsu/boot");
  // The closure's shares are declared once, in the nix group: render_config returns them
  // with their tags, and the boot plan exports the same folders under the same tags.
  const fromBuilds: Record<string, string> = {
    kernel: `results.${last.kernel}`,
    qemu: `results.${last.qemu}`,
    closure: `results.${last.nix}`,
    shares: "(results.nix_render_config.shares ?? []).map((s) => ({ tag: s.tag, path: s.source, readonly: s.read_only === true }))",
  };
  const bootInputs = (boot.schema.order as string[]).filter((k) => !(k in fromBuilds));
  for (const m of boot.value.modules as Json[]) {
    const transforms: Json = {};
    for (const [k, t] of Object.entries<Json>(m.value.input_transforms ?? {})) {
      transforms[k] = k in fromBuilds && m.id === "plan" ? { type: "javascript", expr: fromBuilds[k] } : t;
    }
    modules.push({ ...m, id: `boot_${m.id}`, value: { ...m.value, input_transforms: rewriteBootRefs(transforms) } });
  }
  const order = ["vm", ...SUBFLOWS.map((s) => s.group), ...bootInputs.filter((k) => k !== "vm")];
  const properties: Json = { vm: boot.schema.properties.vm, ...groups };
  for (const k of bootInputs) if (k !== "vm") properties[k] = boot.schema.properties[k];
  return {
    summary: "From nothing to a booted guest",
    description:
      "The main job: provisions the Workbench (f/workbench/init), builds or reuses the kernel (f/kernel/build), QEMU (f/qemu/build) and the NixOS closure (f/nix/build), then boots them (f/qsu/boot) and waits until the guest is up. A build whose identity is already in the Store is reused, so a second bring-up only boots. Returns the boot result. Composed from those flows' own modules (docs/boot.md says how).",
    value: { modules, same_worker: true },
    schema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      order,
      properties,
      required: ["vm", ...SUBFLOWS.filter((s) => groups[s.group].required.length > 0).map((s) => s.group)],
    },
  };
}

function rewriteBootRefs(transforms: Json): Json {
  const out: Json = {};
  for (const [k, t] of Object.entries<Json>(transforms)) {
    out[k] = t.type === "javascript" ? { ...t, expr: t.expr.replace(/\bresults\.plan\b/g, "results.boot_plan") } : t;
  }
  return out;
}

export function renderBringup(): string {
  return `# Generated from the sub-flows by tests/unit/qsu-compose.ts; regenerate with\n# KDEVFLOW_REGENERATE=1 npx vitest run tests/unit/qsu-bringup.test.ts\n${stringify(composeBringup(), { lineWidth: 0 })}`;
}
