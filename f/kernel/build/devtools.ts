// devtools: compile_commands.json in the source root, so clangd indexes the out-of-tree
// build (the kernel's own scripts/clang-tools/gen_compile_commands.py over the build
// dir's .cmd files), and the gdb scripts (vmlinux-gdb.py) when the config built them.
// Skipped when identify reuses a published build.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { runInDevshell } from "../../common/devshell/nix_develop.ts";
import { readStepContext } from "../../common/pipeline/project.ts";
import { shellOf } from "../../common/pipeline/toolchain.ts";
import { Inputs } from "./inputs.ts";

/** Where devtools writes compile_commands.json (the manifest names it). */
export const compileCommandsPath = (worktree: string) => join(worktree, "compile_commands.json");

export async function main(checked: object, worktree: object) {
  const { inputs, toolchain, wt } = readStepContext(Inputs, checked, worktree);
  let commands: string | null = null;
  if (inputs.compile_commands) {
    commands = compileCommandsPath(wt.worktree);
    const script = join(wt.worktree, "scripts", "clang-tools", "gen_compile_commands.py");
    await runInDevshell(shellOf(toolchain), ["python3", script, "-d", wt.build_dir, "-o", commands]);
  }
  const gdb = join(wt.build_dir, "vmlinux-gdb.py");
  return { compile_commands: commands, gdb_scripts: existsSync(gdb) ? gdb : null };
}
