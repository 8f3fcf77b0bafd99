// compile: `make all` (the image, the modules, the gdb scripts when configured) in the
// build dir, inside the build shell, through ccache, with the release name identify
// planned and, when reproducible, the build timestamp from the commit date and a fixed
// user and host. Progress counts kbuild's CC lines against the last build's count (or
// an estimate). After a compile that did not finish, the outputs kbuild does not guard
// (tools/) are rebuilt (unfinished.ts). Skipped when identify reuses a published build.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KernelManifest } from "../../common/manifest.ts";
import { readResult } from "../../common/inputs.ts";
import { identifiedSchema, readStepContext } from "../../common/pipeline/project.ts";
import { progressCounter, setProgress } from "../../common/progress.ts";
import { ARCH_SPECS } from "./arch.ts";
import { parseConfig } from "./config.ts";
import { Inputs } from "./inputs.ts";
import { headOf, kernelMake, runMake } from "./kbuild.ts";
import { estimateCompileUnits, isCompileLine } from "./make.ts";
import { configPath } from "./project.ts";
import { COMPILE_GUARD, guardUnfinished } from "./unfinished.ts";

const COUNT_FILE = ".kdevflow-compile-units";

/** The release names identify planned (a wiring fault when they are missing). */
export function releaseOf(identify: unknown): { kernelrelease: string; localversion: string } {
  const id = readResult(identifiedSchema(KernelManifest), identify, "identify's result");
  const { kernelrelease, localversion } = id.names;
  if (!kernelrelease || localversion === undefined) throw new Error("identify named no kernelrelease: this step runs only for a build that is not reused");
  return { kernelrelease, localversion };
}

export async function main(checked: object, worktree: object, identify: object) {
  const { inputs, toolchain, wt } = readStepContext(Inputs, checked, worktree);
  const { kernelrelease, localversion } = releaseOf(identify);
  const k = await kernelMake(inputs, toolchain, wt, { localversion, commit: (await headOf(wt.worktree)).commit });
  const configText = await readFile(configPath(wt.build_dir), "utf8");
  const last = Number((await readFile(join(wt.build_dir, COUNT_FILE), "utf8").catch(() => "")).trim()) || null;
  const total = estimateCompileUnits(last, configText);
  const report = progressCounter(total, "compile", 1, 99);
  let units = 0;
  await setProgress(1, `compile (expecting about ${total} CC lines)`);
  const started = Date.now();
  await guardUnfinished(wt.build_dir, COMPILE_GUARD, () =>
    runMake(k, ["all"], {
      jobs: true,
      onLine: (line) => {
        if (isCompileLine(line)) report(++units);
      },
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  if (units > 0) await writeFile(join(wt.build_dir, COUNT_FILE), `${units}\n`);
  const built = (await readFile(join(wt.build_dir, "include", "config", "kernel.release"), "utf8")).trim();
  if (built !== kernelrelease) throw new Error(`make built release ${built}, but ${kernelrelease} was planned`);
  await setProgress(100, `compiled ${units} units in ${seconds.toFixed(0)} s`);
  return {
    image: join(wt.build_dir, ARCH_SPECS[inputs.arch].imagePath),
    kernelrelease: built,
    modules: parseConfig(configText).get("MODULES") === "y",
    compile_units: units,
    seconds,
  };
}
