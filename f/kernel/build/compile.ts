// compile: `make all` (the image, the modules, the gdb scripts when configured) in the
// build dir, inside the dev shell, through ccache, with the release name and, when
// reproducible, the build timestamp from the commit date and a fixed user and host.
// Progress counts kbuild's CC lines against the last build's count (or an estimate).

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { progressCounter, setProgress } from "../../common/progress.ts";
import { kernelContext, runMake } from "./kbuild.ts";
import { ARCH_SPECS, estimateCompileUnits, isCompileLine, parseConfig } from "./plan.ts";

const COUNT_FILE = ".kdevflow-compile-units";

export async function main(
  worktree: string,
  build_dir: string,
  commit: string,
  kernelrelease: string,
  localversion: string,
  arch: "x86_64" | "arm64" = "x86_64",
  compiler: "gcc" | "clang" = "gcc",
  ccache: boolean = true,
  ccache_max_size: string = "10G",
  make_args: string = "",
  reproducible: boolean = true,
  nixos_flake: string = "",
) {
  const ctx = await kernelContext({ worktree, build_dir, arch, compiler, ccache, ccache_max_size, make_args, nixos_flake, localversion, reproducible, commit });
  const configText = await readFile(join(build_dir, ".config"), "utf8");
  const last = Number((await readFile(join(build_dir, COUNT_FILE), "utf8").catch(() => "")).trim()) || null;
  const total = estimateCompileUnits(last, configText);
  const report = progressCounter(total, "compile", 1, 99);
  let units = 0;
  await setProgress(1, `compile (expecting about ${total} CC lines)`);
  const started = Date.now();
  await runMake(ctx, ["all"], {
    jobs: true,
    onLine: (line) => {
      if (isCompileLine(line)) report(++units);
    },
  });
  const seconds = (Date.now() - started) / 1000;
  if (units > 0) await writeFile(join(build_dir, COUNT_FILE), `${units}\n`);
  const built = (await readFile(join(build_dir, "include", "config", "kernel.release"), "utf8")).trim();
  if (built !== kernelrelease) throw new Error(`make built release ${built}, but ${kernelrelease} was planned`);
  await setProgress(100, `compiled ${units} units in ${seconds.toFixed(0)} s`);
  return {
    image: join(build_dir, ARCH_SPECS[arch].imagePath),
    kernelrelease: built,
    modules: parseConfig(configText).get("MODULES") === "y",
    compile_units: units,
    seconds,
  };
}
