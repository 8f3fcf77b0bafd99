// compile: `make -j<jobs>` in build/ inside the build shell (QEMU's make drives ninja).
// Progress comes from ninja's `[n/N]` lines. A failure on a warning turned into an error
// says so and suggests configure_args: --disable-werror or a newer qemu_ref. Skipped when
// identify reuses a published build.

import { runInDevshell } from "../../common/devshell/nix_develop.ts";
import { readStepContext } from "../../common/pipeline/project.ts";
import { shellOf } from "../../common/pipeline/toolchain.ts";
import { setProgress } from "../../common/progress.ts";
import { CommandError } from "../../common/run.ts";
import { Inputs } from "./inputs.ts";
import { ninjaProgress, showsWerror, werrorAdvice } from "./plan.ts";

export async function main(checked: object, worktree: object) {
  const { inputs, toolchain, wt } = readStepContext(Inputs, checked, worktree);
  const started = performance.now();
  let werror = false;
  let last = -1;
  const onLine = (line: string) => {
    if (!werror && showsWerror([line])) werror = true;
    const p = ninjaProgress(line);
    if (!p) return;
    const percent = 1 + Math.floor((98 * p.done) / p.total);
    if (percent !== last) {
      last = percent;
      void setProgress(percent, `compile ${p.done}/${p.total}`);
    }
  };
  try {
    await runInDevshell(shellOf(toolchain), ["make", `-j${toolchain.jobs}`], { cwd: wt.build_dir, env: toolchain.ccache_env, onLine, tailLines: 60 });
  } catch (err) {
    if (werror && err instanceof CommandError) throw new Error(`${werrorAdvice(inputs.qemu_ref)}\n${err.message}`);
    throw err;
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  await setProgress(100, "compiled");
  return { jobs: toolchain.jobs, seconds };
}
