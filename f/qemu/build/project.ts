// QEMU's adapter to the shared build pipeline (f/common/pipeline/project.ts): its names,
// its inputs, what it checks against the source before anything changes (the targets
// against configs/targets/), what its identity hashes for a make build (targets,
// configure flags, compiler, build shell, source tree; not the label, not ccache) and how
// it names a build (an install prefix destdir/<version>-<label>-<identity> and the Store
// key qemu-<version>-<label>-<identity>). Its own steps beside this file: configure,
// compile, devtools, install, and nix_package for the Nix-package method.

import { join } from "node:path";
import { QemuManifest } from "../../common/manifest.ts";
import type { BuildProject } from "../../common/pipeline/project.ts";
import { capLabel } from "../../common/pipeline/label.ts";
import { treeReader } from "../../workbench/git.ts";
import { buildsFromRef, Inputs } from "./inputs.ts";
import { checkTargetsInTree, installName, LABEL_MAX, makeIdentityParts, PROJECT, splitConfigureArgs, storeKey, targetsInTree } from "./plan.ts";
import { readQemuTree } from "./tree.ts";

export const qemuProject: BuildProject<Inputs, QemuManifest> = {
  project: PROJECT,
  storeProject: PROJECT,
  refField: "qemu_ref",
  shell: "build-qemu",
  inputs: Inputs,
  manifest: QemuManifest,
  ref: (i) => (buildsFromRef(i) ? i.qemu_ref : null),
  needsToolchain: (i) => i.method === "make",

  async checkSource(i, source) {
    if (i.method === "make") checkTargetsInTree(i.target_list, targetsInTree(await source.list("configs/targets")));
  },

  async identify(ctx) {
    const facts = await readQemuTree(treeReader(ctx.worktree.worktree), ctx.worktree.worktree);
    const i = ctx.inputs;
    return {
      parts: makeIdentityParts({ targets: i.target_list, configureArgs: splitConfigureArgs(i.configure_args), compiler: i.compiler, devshellDrv: ctx.toolchain.drv, tree: ctx.worktree.tree }),
      version: facts.version,
    };
  },

  async name(ctx, n) {
    const label = capLabel(n.label, LABEL_MAX);
    return {
      label,
      version: n.version,
      store_key: storeKey(n.version, label, n.identity),
      names: { prefix: join(ctx.worktree.destdir, installName(n.version, label, n.identity)) },
    };
  },
};
