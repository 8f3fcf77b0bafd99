// devtools: copy meson's compile_commands.json from build/ into the source root, so
// clangd indexes the out-of-tree build. On by default; skipped when the build was
// reused (the tree may not have been configured for this identity).

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../common/atomic.ts";
import { parseConfigured } from "./plan.ts";

export async function main(configured: object, compile_commands: boolean = true) {
  const c = parseConfigured(configured);
  if (c.reused || !compile_commands) return { compile_commands: null };
  const from = join(c.build_dir, "compile_commands.json");
  if (!existsSync(from)) throw new Error(`meson wrote no ${from}; was configure run in ${c.build_dir}?`);
  const to = join(c.worktree, "compile_commands.json");
  await writeFileAtomic(to, await readFile(from));
  console.log(`devtools: ${from} -> ${to}`);
  return { compile_commands: to };
}
