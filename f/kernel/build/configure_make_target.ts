// configure (make_target): the .config from one make config target (defconfig,
// tinyconfig, x86_64_defconfig, ...), then olddefconfig and the check that every
// option asked for is set. See configure.ts.

import { configureKernel } from "./configure.ts";

export async function main(
  worktree: string,
  build_dir: string,
  make_target: string = "defconfig",
  arch: "x86_64" | "arm64" = "x86_64",
  compiler: "gcc" | "clang" = "gcc",
  ccache: boolean = true,
  ccache_max_size: string = "10G",
  make_args: string = "",
  wipe_build: boolean = false,
  nixos_flake: string = "",
) {
  return configureKernel({ method: "make_target", worktree, build_dir, make_target, arch, compiler, ccache, ccache_max_size, make_args, wipe_build, nixos_flake });
}
