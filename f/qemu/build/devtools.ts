// devtools: copy meson's compile_commands.json from build/ into the source root, so
// clangd indexes the out-of-tree build. On by default; skipped when identify reuses a
// published build.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../common/atomic.ts";
import { readStepContext } from "../../common/pipeline/project.ts";
import { Inputs } from "./inputs.ts";

export async function main(checked: object, worktree: object) {
  const { inputs, wt } = readStepContext(Inputs, checked, worktree);
  if (!inputs.compile_commands) return { compile_commands: null };
  const from = join(wt.build_dir, "compile_commands.json");
  if (!existsSync(from)) throw new Error(`meson wrote no ${from}; was configure run in ${wt.build_dir}?`);
  const to = join(wt.worktree, "compile_commands.json");
  await writeFileAtomic(to, await readFile(from));
  console.log(`devtools: ${from} -> ${to}`);
  return { compile_commands: to };
}
