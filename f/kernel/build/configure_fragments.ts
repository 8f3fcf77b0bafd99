// configure (fragments): make_target as the base, then config fragments merged in the
// order given (upstream kernel/configs names, the project's f/kernel/configs names, or
// absolute file paths), olddefconfig, and the check that every option the fragments
// ask for is really set. See configure.ts.

import { configureKernel } from "./configure.ts";

export async function main(
  worktree: string,
  build_dir: string,
  fragments: string[],
  make_target: string = "defconfig",
  arch: "x86_64" | "arm64" = "x86_64",
  compiler: "gcc" | "clang" = "gcc",
  ccache: boolean = true,
  ccache_max_size: string = "10G",
  make_args: string = "",
  wipe_build: boolean = false,
  nixos_flake: string = "",
) {
  return configureKernel({ method: "fragments", worktree, build_dir, fragments, make_target, arch, compiler, ccache, ccache_max_size, make_args, wipe_build, nixos_flake });
}
