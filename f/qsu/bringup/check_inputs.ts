// check_inputs: the first step of f/qsu/bringup. Every group is parsed with its
// sub-flow's own schema and the boot fields with f/qsu/boot's, before any build runs,
// so a bad `memory_mb`, `qemu.target_list` or `workbench.sources[0].url` is refused in
// one sentence naming the field as the user wrote it, with nothing on disk changed.
// When the Bares are already provisioned, the refs and what depends on the tree (make
// target, fragments, QEMU targets) are checked against them too; on a first bring-up
// the build flows check those after f/workbench/init.
//
// Returns, per group, what the user set plus the bring-up's own defaults (a flow module
// passes the rest as null, and the sub-flow applies its own defaults), the parsed boot
// fields, and the closure's shares as the boot plan exports them (the same tags and
// rule the closure mounts them by).

import { InputError, isInputError } from "../../common/errors.ts";
import { dropNulls, parseInputs } from "../../common/inputs.ts";
import { workbenchLayout } from "../../common/layout.ts";
import { bareReady } from "../../workbench/bare.ts";
import { commitReader } from "../../workbench/git.ts";
import { resolveRef } from "../../workbench/worktree.ts";
import { barePaths } from "../../workbench/plan.ts";
import { checkShares } from "../../nix/build/plan.ts";
import { buildProject } from "../../pipeline/projects.ts";
import { GROUPS, Inputs } from "./inputs.ts";

/** An InputError of a sub-flow's check, its field named as the bring-up form has it. */
function inGroup(group: string, err: unknown): unknown {
  return isInputError(err) ? new InputError(`${group}.${err.field}`, err.expected, err.got) : err;
}

/** Check a build group's ref and tree-dependent inputs against an already provisioned Bare. */
async function checkAgainstBare(group: string, project: "linux" | "qemu", parsed: unknown): Promise<void> {
  const layout = workbenchLayout();
  const adapter = buildProject(project);
  if (!(await bareReady(layout, adapter.project))) return;
  const ref = adapter.ref(parsed);
  if (ref === null) return;
  try {
    const bare = barePaths(layout, adapter.project).dir;
    const { commit } = await resolveRef(bare, ref, adapter.project, adapter.refField);
    await adapter.checkSource?.(parsed, commitReader(bare, commit));
  } catch (err) {
    throw inGroup(group, err);
  }
}

/** What each step of the bring-up reads: the guest's name, each group as given, the boot fields and shares. */
export interface BringupChecked {
  vm: string;
  boot: Record<string, unknown>;
  boot_shares: { tag: string; path: string; readonly: boolean }[];
  [group: string]: unknown;
}

export async function main(flow_input: object): Promise<BringupChecked> {
  const top = parseInputs(Inputs, flow_input);
  const groups: Record<string, Record<string, unknown>> = {};
  const parsed: Record<string, unknown> = {};
  for (const g of GROUPS) {
    const given: Record<string, unknown> = { ...(g.defaults ?? {}), ...(dropNulls(g.inputs, (top as Record<string, unknown>)[g.group]) as object) };
    const fromTop = Object.fromEntries(Object.entries(g.fromTop ?? {}).map(([field, topField]) => [field, (top as Record<string, unknown>)[topField]]));
    for (const k of Object.keys(fromTop)) {
      if (k in given) throw new InputError(`${g.group}.${k}`, `no ${k} in the ${g.group} group (the bring-up's own ${g.fromTop![k]} is used)`, given[k]);
    }
    parsed[g.group] = parseInputs(g.inputs, { ...given, ...fromTop }, { prefix: g.group });
    groups[g.group] = given;
  }
  await checkAgainstBare("kernel", "linux", parsed.kernel);
  await checkAgainstBare("qemu", "qemu", parsed.qemu);
  const closureShares = checkShares((parsed.nix as { shares: never[] }).shares, "nix.shares");
  const boot = Object.fromEntries(Object.entries(top).filter(([k]) => !GROUPS.some((g) => g.group === k)));
  const vm = top.vm;
  console.log(`check_inputs: bring-up of ${vm}: ${GROUPS.map((g) => `${g.group} ${JSON.stringify(groups[g.group])}`).join(", ")}`);
  return {
    vm,
    ...groups,
    boot,
    boot_shares: closureShares.map((s) => ({ tag: s.tag, path: s.source, readonly: s.readOnly })),
  };
}
