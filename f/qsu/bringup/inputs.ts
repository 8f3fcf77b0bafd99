// f/qsu/bringup, generated: its form and its flow file are made from the sub-flows'
// inputs (scripts/flow-forms.ts calls generateFlow and a test keeps the committed file
// equal), so a field added to a build reaches the bring-up by regeneration, not by hand.
//
// The form has the guest's name, one group per build flow (its fields as the sub-flow
// declares them; their defaults stay the sub-flow's, except where the bring-up sets its
// own below) and the boot fields of f/qsu/boot. The flow's first step (check_inputs.ts)
// parses every group with its sub-flow's schema and the boot fields, before any build
// runs; each build then runs as a flow module that gets what the user set (null for the
// rest, so it applies its own defaults), and the boot steps get the builds' manifests.

import { stringify } from "yaml";
import { z } from "zod";
import { formSchema, type JsonSchema } from "../../common/inputs.ts";
import { Inputs as KernelInputs } from "../../kernel/build/inputs.ts";
import { Inputs as NixInputs } from "../../nix/build/inputs.ts";
import { Inputs as QemuInputs } from "../../qemu/build/inputs.ts";
import { Inputs as InitInputs } from "../../workbench/init/inputs.ts";
import { WORKER_TAG } from "../../common/worker_tag.ts";
import { BootFields } from "../boot/inputs.ts";

export interface Group {
  /** The flow module's id. */
  id: string;
  /** The form group's name. */
  group: string;
  flow: string;
  what: string;
  inputs: z.ZodType;
  /** The bring-up's own defaults for fields of this group. */
  defaults?: Record<string, unknown>;
  /** Fields the bring-up fills from its own top-level fields (not in the group). */
  fromTop?: Record<string, string>;
}

/** The builds, in the order they run. */
export const GROUPS: readonly Group[] = [
  { id: "workbench", group: "workbench", flow: "f/workbench/init", what: "Workbench: mirrors and Bares (idempotent)", inputs: InitInputs },
  {
    id: "kernel",
    group: "kernel",
    flow: "f/kernel/build",
    what: "Kernel: build or reuse",
    inputs: KernelInputs,
    // The 2025 long-term stable tag: `--set vm=dev` is then a complete bring-up.
    defaults: { git_ref: "v6.18" },
  },
  { id: "qemu", group: "qemu", flow: "f/qemu/build", what: "QEMU: build or reuse", inputs: QemuInputs },
  { id: "closure", group: "nix", flow: "f/nix/build", what: "NixOS closure: build or reuse", inputs: NixInputs, fromTop: { vm: "vm" } },
];

/** The boot fields the bring-up asks for itself (the manifests and shares come from the builds). */
export const BOOT_FIELDS = BootFields;

const group = () => z.record(z.string(), z.unknown()).default({});

/** The top level, parsed before the groups: the boot fields, and each group as an object its sub-flow's schema then parses. */
export const Inputs = BootFields.extend({ workbench: group(), kernel: group(), qemu: group(), nix: group() });

const SUMMARY = "From nothing to a booted guest";
const DESCRIPTION =
  "The main job: check_inputs parses every group and the boot fields before anything runs; then f/workbench/init provisions the Workbench, f/kernel/build, f/qemu/build and f/nix/build build or reuse the kernel, QEMU and the NixOS closure (each as a flow module), and the f/qsu/boot steps boot them and wait until the guest is up. A build whose identity is already in the Store is reused, so a second bring-up only boots. Each group of the form holds the inputs of one of those flows; a field left out takes that flow's default. Generated from the sub-flows' inputs by scripts/flow-forms.ts. Returns the boot result. See docs/boot.md.";

function withoutDefaults(p: JsonSchema): JsonSchema {
  const { default: _d, ...rest } = p;
  return rest;
}

/** A group of the form: the sub-flow's fields, its defaults left to it unless the bring-up has its own. */
export function groupForm(g: Group): JsonSchema {
  const sub = formSchema(g.inputs) as { order: string[]; properties: Record<string, JsonSchema>; required: string[] };
  const fields = sub.order.filter((k) => !(g.fromTop && k in g.fromTop));
  const properties: Record<string, JsonSchema> = {};
  for (const k of fields) {
    const own = g.defaults && k in g.defaults ? { default: g.defaults[k] } : {};
    properties[k] = { ...withoutDefaults(sub.properties[k]!), ...own };
  }
  return {
    type: "object",
    description: `Inputs of ${g.flow}. A field left out takes the default of ${g.flow}'s form.`,
    order: fields,
    properties,
    required: [],
  };
}

/** The bring-up's form. */
export function bringupForm(): JsonSchema {
  const boot = formSchema(BootFields) as { order: string[]; properties: Record<string, JsonSchema> };
  const order = ["vm", ...GROUPS.map((g) => g.group), ...boot.order.filter((k) => k !== "vm")];
  const properties: Record<string, JsonSchema> = { vm: boot.properties.vm! };
  for (const g of GROUPS) properties[g.group] = groupForm(g);
  for (const k of boot.order) if (k !== "vm") properties[k] = boot.properties[k]!;
  return { $schema: "https://json-schema.org/draft/2020-12/schema", type: "object", order, properties, required: ["vm"] };
}

const js = (expr: string) => ({ type: "javascript", expr });

/** One flow module per build: every field of the sub-flow's form, read from check_inputs' result for its group. */
function buildModule(g: Group): unknown {
  const sub = formSchema(g.inputs) as { order: string[] };
  const transforms: Record<string, unknown> = {};
  for (const k of sub.order) transforms[k] = js(g.fromTop && k in g.fromTop ? `results.check_inputs.${g.fromTop[k]}` : `results.check_inputs.${g.group}.${k}`);
  return { id: g.id, summary: g.what, value: { type: "flow", path: g.flow, input_transforms: transforms } };
}

/** The whole flow file. */
export function bringupFlow(): unknown {
  const boot = (id: string, path: string, summary: string, input_transforms: Record<string, unknown>) => ({ id: `boot_${id}`, summary, value: { type: "script", path, input_transforms } });
  return {
    summary: SUMMARY,
    description: DESCRIPTION,
    tag: WORKER_TAG,
    value: {
      same_worker: true,
      modules: [
        { id: "check_inputs", summary: "Parse every group and the boot fields before any build runs", value: { type: "script", path: "f/qsu/bringup/check_inputs", input_transforms: { flow_input: js("flow_input") } } },
        ...GROUPS.map(buildModule),
        boot("plan", "f/qsu/boot/plan", "Validate and plan the units", {
          flow_input: js("({ ...results.check_inputs.boot, kernel: results.kernel, qemu: results.qemu, closure: results.closure, shares: results.check_inputs.boot_shares })"),
        }),
        boot("apply", "f/qsu/boot/apply", "Write the units, start the guest", { plan: js("results.boot_plan") }),
        boot("wait_ready", "f/qsu/boot/wait_ready", "Wait until the guest is up", { plan: js("results.boot_plan") }),
      ],
    },
    schema: bringupForm(),
  };
}

/** scripts/flow-forms.ts writes the flow file with this. */
export function generateFlow(): string {
  return `# Generated by scripts/flow-forms.ts from f/qsu/bringup/inputs.ts and the sub-flows' inputs: do not edit.\n${stringify(bringupFlow(), { lineWidth: 0 })}`;
}
