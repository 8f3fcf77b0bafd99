// compile: `make -j$(nproc)` in build/ inside the dev shell (QEMU's make drives ninja).
// Progress comes from ninja's `[n/N]` lines. A failure on a warning turned into an error
// says so and suggests configure_args: --disable-werror or a newer qemu_ref. Skipped
// when configure found the identity already published.

import { availableParallelism } from "node:os";
import { devshellSpec, runInDevshell } from "../../common/devshell/nix_develop.ts";
import { setProgress } from "../../common/progress.ts";
import { CommandError } from "../../common/run.ts";
import { ninjaProgress, parseConfigured, showsWerror, werrorAdvice } from "./plan.ts";

export async function main(configured: object, nixos_flake: string = "") {
  const c = parseConfigured(configured);
  if (c.reused) return { skipped: true, jobs: 0, seconds: 0 };
  const jobs = availableParallelism();
  const started = performance.now();
  let werror = false;
  let last = -1;
  const onLine = (line: string) => {
    if (!werror && showsWerror([line])) werror = true;
    const p = ninjaProgress(line);
    if (!p) return;
    const percent = 10 + Math.floor((80 * p.done) / p.total);
    if (percent !== last) {
      last = percent;
      void setProgress(percent, `compile ${p.done}/${p.total}`);
    }
  };
  try {
    await runInDevshell(devshellSpec(nixos_flake), ["make", `-j${jobs}`], { cwd: c.build_dir, env: c.ccache_env, onLine, tailLines: 60 });
  } catch (err) {
    if (werror && err instanceof CommandError) throw new Error(`${werrorAdvice(c.ref)}\n${err.message}`);
    throw err;
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  await setProgress(90, "compiled");
  return { skipped: false, jobs, seconds };
}
