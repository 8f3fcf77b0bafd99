// check_inputs: the first step of every build flow. Parses flow_input once with the
// project's input schema (null or absent means "not given": the default), resolves the
// ref in the Bare and checks the inputs that need the source (config targets, fragments,
// QEMU targets) against that commit without a worktree, picks the library's build shell
// and checks the toolchain there. Nothing on disk changes before this step passes; every
// later step reads what it returns, never flow_input.

import { InputError, isInputError } from "../common/errors.ts";
import { workbenchLayout } from "../common/layout.ts";
import { parseInputs } from "../common/inputs.ts";
import type { Checked, SourceTree } from "../common/pipeline/project.ts";
import { resolveToolchain } from "../common/pipeline/toolchain.ts";
import { setProgress } from "../common/progress.ts";
import { requireBare } from "../workbench/bare.ts";
import { commitReader, gitOut } from "../workbench/git.ts";
import { gitArgv } from "../workbench/plan.ts";
import { resolveRef } from "../workbench/worktree.ts";
import { buildProject } from "./projects.ts";

export async function main(project: "linux" | "qemu", flow_input: object) {
  const adapter = buildProject(project);
  const inputs = parseInputs(adapter.inputs, flow_input);
  const layout = workbenchLayout();

  let source: SourceTree | null = null;
  const ref = adapter.ref(inputs);
  if (ref !== null) {
    await setProgress(10, `resolve ${ref} in the ${adapter.project} Bare`);
    const bare = await requireBare(layout, adapter.project).catch((err) => {
      throw isInputError(err) ? new InputError(adapter.refField, `a ref of a provisioned ${adapter.project} Bare (${err.expected}; run f/workbench/init)`, ref) : err;
    });
    const resolved = await resolveRef(bare, ref, adapter.project, adapter.refField);
    source = { ref, commit: resolved.commit, tree: await gitOut(gitArgv.treeOf(bare, resolved.commit)), resolved_ref: resolved.refname };
    await adapter.checkSource?.(inputs, commitReader(bare, resolved.commit));
  }

  const toolchain = adapter.needsToolchain(inputs) ? await resolveToolchain(inputs, adapter.shell, layout) : null;
  if (toolchain) {
    await setProgress(60, `check the toolchain in ${toolchain.flake}#${toolchain.shell}`);
    await adapter.checkToolchain?.(inputs, toolchain);
  }
  console.log(`check_inputs: ${adapter.project}${source ? ` ${source.ref} = ${source.commit}` : ""}${toolchain ? `, shell ${toolchain.flake}#${toolchain.shell}` : ""}`);
  await setProgress(100, "inputs checked");
  return { project: adapter.project, inputs, source, toolchain } satisfies Checked<unknown>;
}
