// The kernel's adapter to the shared build pipeline (f/common/pipeline/project.ts): its
// names, its inputs, what it checks against the source before anything changes (the
// make target, the fragments, an mbox on disk, a compiler for the arch), what its
// identity hashes (the final .config, compiler, make arguments, arch, build shell,
// source tree after the series, reproducibility) and how it names a build (a
// kernelrelease within uname -r's 64 characters). The kernel's own steps beside this
// file: apply_series, configure, compile, devtools, install.

import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";
import { KernelManifest } from "../../common/manifest.ts";
import type { BuildProject, IdentifyContext } from "../../common/pipeline/project.ts";
import { ARCH_SPECS } from "./arch.ts";
import { baseTargets, checkMakeTarget, configString, parseConfig } from "./config.ts";
import { Inputs } from "./inputs.ts";
import { checkArchToolchain, headOf, resolveFragments } from "./kbuild.ts";
import { checkMakeArgs } from "./make.ts";
import { kernelIdentityParts, kernelVersionFromMakefile, localversionNames, planRelease, releaseBase, STORE_PROJECT } from "./release.ts";
import { parseSeries } from "./series.ts";

export const PROJECT = "linux";

/** The kernel's .config after configure, in the build dir. */
export const configPath = (buildDir: string) => join(buildDir, ".config");

async function releaseBaseOf(ctx: IdentifyContext<Inputs>, version: string): Promise<string> {
  const files: string[] = [];
  for (const dir of [ctx.worktree.build_dir, ctx.worktree.worktree]) {
    for (const name of localversionNames(await readdir(dir))) files.push(await readFile(join(dir, name), "utf8"));
  }
  const config = parseConfig(await readFile(configPath(ctx.worktree.build_dir), "utf8"));
  return releaseBase(version, files, configString(config, "LOCALVERSION"));
}

export const kernelProject: BuildProject<Inputs, KernelManifest> = {
  project: PROJECT,
  storeProject: STORE_PROJECT,
  refField: "git_ref",
  shell: "build-kernel",
  inputs: Inputs,
  manifest: KernelManifest,
  ref: (i) => i.git_ref,
  needsToolchain: () => true,

  async checkSource(i, source) {
    checkMakeTarget(i.make_target, baseTargets(await source.list(`arch/${ARCH_SPECS[i.arch].srcArch}/configs`)));
    await resolveFragments(i.fragments, source, i.arch);
    const series = parseSeries(i.b4_series);
    if (series.kind === "mbox" && !existsSync(series.path)) throw new InputError("b4_series", "the path of an mbox file that exists on this worker", series.path);
  },

  checkToolchain: (i, t) => checkArchToolchain(t, i.arch, i.compiler),

  async identify(ctx) {
    const configText = await readFile(configPath(ctx.worktree.build_dir), "utf8");
    const head = await headOf(ctx.worktree.worktree);
    const i = ctx.inputs;
    return {
      parts: kernelIdentityParts({ configText, compiler: i.compiler, makeArgv: checkMakeArgs(i.make_args), arch: i.arch, devshellDrv: ctx.toolchain.drv, sourceTree: head.tree, reproducible: i.reproducible }),
      version: kernelVersionFromMakefile(await readFile(join(ctx.worktree.worktree, "Makefile"), "utf8")),
    };
  },

  async name(ctx, n) {
    const release = planRelease(await releaseBaseOf(ctx, n.version), n.label, n.identity);
    return {
      label: release.label,
      version: n.version,
      store_key: `${STORE_PROJECT}-${release.kernelrelease}`,
      names: { kernelrelease: release.kernelrelease, localversion: release.localversion },
    };
  },
};
