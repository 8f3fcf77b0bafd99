// configure (preset): make_target as the base, then a preset's options merged on top
// (imageless: what an imageless NixOS guest needs built in), olddefconfig, and the
// check that every option of the preset is really set. See configure.ts.

import { configureKernel } from "./configure.ts";

export async function main(
  worktree: string,
  build_dir: string,
  preset: "imageless" = "imageless",
  make_target: string = "defconfig",
  arch: "x86_64" | "arm64" = "x86_64",
  compiler: "gcc" | "clang" = "gcc",
  ccache: boolean = true,
  ccache_max_size: string = "10G",
  make_args: string = "",
  wipe_build: boolean = false,
  nixos_flake: string = "",
) {
  return configureKernel({ method: "preset", worktree, build_dir, preset, make_target, arch, compiler, ccache, ccache_max_size, make_args, wipe_build, nixos_flake });
}
