// devtools: compile_commands.json in the source root, so clangd indexes the out-of-tree
// build (the kernel's own scripts/clang-tools/gen_compile_commands.py over the build
// dir's .cmd files), and the gdb scripts (vmlinux-gdb.py) when the config built them.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { devshellSpec, runInDevshell } from "../../common/devshell/nix_develop.ts";

export async function main(worktree: string, build_dir: string, compile_commands: boolean = true, nixos_flake: string = "") {
  let commands: string | null = null;
  if (compile_commands) {
    commands = join(worktree, "compile_commands.json");
    const script = join(worktree, "scripts", "clang-tools", "gen_compile_commands.py");
    await runInDevshell(devshellSpec(nixos_flake || null), ["python3", script, "-d", build_dir, "-o", commands]);
  }
  const gdb = join(build_dir, "vmlinux-gdb.py");
  return { compile_commands: commands, gdb_scripts: existsSync(gdb) ? gdb : null };
}
