// selftests: build and install the requested kselftest targets with the kernel's own
// make (`kselftest-install`, which installs the uapi headers of the same build dir
// first), in the same tree, build dir and build shell, with the same release name, into
// destdir/kselftest (run_kselftest.sh, kselftest-list.txt and one folder per target).
// It runs after install, which empties destdir, and before publish, so the install is
// part of the published store path and comes back with a reused build. Returns install's
// manifest with the targets and the install folder. Skipped when the build is reused or
// asks for no targets.

import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { readResult } from "../../common/inputs.ts";
import { KernelManifest } from "../../common/manifest.ts";
import { readStepContext } from "../../common/pipeline/project.ts";
import { progressCounter, setProgress } from "../../common/progress.ts";
import { releaseOf } from "./compile.ts";
import { Inputs } from "./inputs.ts";
import { headOf, kernelMake, runMake } from "./kbuild.ts";
import { enteredTarget, KSELFTEST_DIR, KSELFTEST_LIST, KSELFTEST_RUNNER, kselftestMakeTargets, missingTargets, parseKselftestList } from "./kselftest.ts";
import { guardUnfinished, SELFTESTS_GUARD } from "./unfinished.ts";

export async function main(checked: object, worktree: object, identify: object, manifest: object) {
  const { inputs, toolchain, wt } = readStepContext(Inputs, checked, worktree);
  const installed = readResult(KernelManifest, manifest, "install's manifest");
  const targets = inputs.selftests;
  if (targets.length === 0) return installed;
  const { localversion } = releaseOf(identify);
  const installDir = join(wt.destdir, KSELFTEST_DIR);
  // A re-run starts from an empty install folder, so it holds exactly these targets.
  await rm(installDir, { recursive: true, force: true });
  const k = await kernelMake(inputs, toolchain, wt, { localversion, commit: (await headOf(wt.worktree)).commit });
  // make enters each target's folder twice: to build it, then to install it.
  const report = progressCounter(targets.length * 2, "kselftest build and install", 1, 99);
  let entered = 0;
  await setProgress(1, `kselftest-install ${targets.join(" ")}`);
  await guardUnfinished(wt.build_dir, SELFTESTS_GUARD, () =>
    runMake(k, kselftestMakeTargets(targets, installDir), {
      jobs: true,
      onLine: (line) => {
        if (enteredTarget(line, targets)) report(++entered);
      },
    }),
  );
  for (const file of [KSELFTEST_RUNNER, KSELFTEST_LIST]) {
    if (!existsSync(join(installDir, file))) throw new Error(`kselftest-install left no ${file} in ${installDir}`);
  }
  const listed = parseKselftestList(await readFile(join(installDir, KSELFTEST_LIST), "utf8"));
  const empty = missingTargets(targets, listed);
  if (empty.length > 0) console.log(`selftests: ${empty.join(", ")} installed no runnable test (not in ${KSELFTEST_LIST})`);
  await setProgress(100, `${listed.length} kselftests of ${targets.length} targets in ${installDir}`);
  return KernelManifest.parse({ ...installed, selftests: { targets, install_dir: installDir } });
}
