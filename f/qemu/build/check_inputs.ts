// check_inputs: the flow's first step. Every input that can be checked without the
// source tree is checked here, so bad input fails in one sentence before a worktree is
// synced or anything is built. (The target list is checked against the tree by
// configure, once the tree is checked out; a ref not in the Bare by prepare_worktree.)

import { checkCcacheSize } from "../../common/devshell/ccache.ts";
import { InputError } from "../../common/errors.ts";
import { resolveFlake } from "../../common/nix.ts";
import { checkCustomLabel } from "../../common/pipeline/label.ts";
import { checkCompiler, normalizeTargetList, splitConfigureArgs } from "./plan.ts";

export async function main(
  qemu_ref: string = "v11.0.0",
  method: "make" | "nix" = "make",
  nix_source: "flake" | "qemu_ref" = "flake",
  custom_label: boolean = false,
  label: string = "",
  target_list: string[] = ["x86_64-softmmu"],
  compiler: "gcc" | "clang" = "gcc",
  ccache: boolean = true,
  ccache_max_size: string = "10G",
  configure_args: string = "",
  nixos_flake: string = "",
) {
  if (method !== "make" && method !== "nix") throw new InputError("method", "make or nix", method);
  if (nix_source !== "flake" && nix_source !== "qemu_ref") throw new InputError("nix_source", "flake or qemu_ref", nix_source);
  const needsRef = method === "make" || nix_source === "qemu_ref";
  if (needsRef && (typeof qemu_ref !== "string" || !qemu_ref.trim())) throw new InputError("qemu_ref", "a tag, branch or commit of the qemu Bare", qemu_ref);
  const checked = {
    qemu_ref: qemu_ref.trim(),
    method,
    nix_source,
    label: custom_label ? checkCustomLabel(label) : null,
    targets: normalizeTargetList(target_list),
    compiler: checkCompiler(compiler),
    ccache: Boolean(ccache),
    ccache_max_size: checkCcacheSize(ccache_max_size),
    configure_args: splitConfigureArgs(configure_args),
    nixos_flake: resolveFlake(nixos_flake),
  };
  console.log(`check_inputs: ${JSON.stringify(checked)}`);
  return checked;
}
