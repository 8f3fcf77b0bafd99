// validate: the first step. Checks every input that can be checked without the source
// tree, and that the build dev shell has a toolchain for the arch, before anything on
// disk changes: a bad label, make_args, series, fragment name or arch ends the flow
// here with one sentence naming the field. Returns the inputs normalised.

import { devshellSpec } from "../../common/devshell/nix_develop.ts";
import { checkCustomLabel } from "../../common/pipeline/label.ts";
import { checkToolchain } from "./kbuild.ts";
import { checkInputs } from "./plan.ts";

export async function main(
  git_ref: string,
  b4_series: string = "",
  custom_label: boolean = false,
  label: string = "",
  config_method: "make_target" | "preset" | "fragments" = "make_target",
  make_target: string = "defconfig",
  preset: "imageless" = "imageless",
  fragments: string[] = [],
  arch: "x86_64" | "arm64" = "x86_64",
  compiler: "gcc" | "clang" = "gcc",
  ccache: boolean = true,
  ccache_max_size: string = "10G",
  make_args: string = "",
  reproducible: boolean = true,
  nixos_flake: string = "",
) {
  const checked = checkInputs({ git_ref, b4_series, custom_label, label, config_method, make_target, preset, fragments, arch, compiler, ccache, ccache_max_size, make_args, reproducible, nixos_flake });
  const custom = custom_label ? checkCustomLabel(label) : null;
  const shell = devshellSpec(nixos_flake || null);
  await checkToolchain(shell, checked.arch, checked.compiler);
  return {
    git_ref: checked.git_ref.trim(),
    series: checked.series,
    custom_label: custom,
    make_argv: checked.make_argv,
    devshell: shell.flake,
  };
}
