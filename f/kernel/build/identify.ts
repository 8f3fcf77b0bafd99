// identify: once the .config is final, name the build. The identity hashes the .config
// (without CONFIG_LOCALVERSION), compiler, make arguments, arch, the dev shell's
// derivation and the source tree after the series; the label follows the precedence in
// the shared pipeline; the release is <version>-<label>-<identity>, at most 64
// characters (the label is shortened, never the identity or a -vN; the base is read from
// the tree as scripts/setlocalversion reads it, and compile checks it). When the identity
// is already published and reuse is on, the published manifest comes back and the
// flow skips compile, devtools, install and publish.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { devshellDrvPath, devshellSpec } from "../../common/devshell/nix_develop.ts";
import { KernelManifest } from "../../common/manifest.ts";
import { setProgress } from "../../common/progress.ts";
import { buildIdentity } from "../../common/pipeline/identity.ts";
import { deriveLabel } from "../../common/pipeline/label.ts";
import { decideReuse } from "../../common/pipeline/reuse.ts";
import { run } from "../../common/run.ts";
import { headOf } from "./kbuild.ts";
import { checkMakeArgs, configString, kernelIdentityParts, kernelVersionFromMakefile, localversionNames, parseConfig, planRelease, releaseBase, STORE_PROJECT } from "./plan.ts";

export async function main(
  worktree: string,
  build_dir: string,
  config: string,
  git_ref: string,
  cover_subject: string = "",
  custom_label: boolean = false,
  label: string = "",
  arch: "x86_64" | "arm64" = "x86_64",
  compiler: "gcc" | "clang" = "gcc",
  make_args: string = "",
  reproducible: boolean = true,
  reuse: boolean = true,
  nixos_flake: string = "",
) {
  const head = await headOf(worktree);
  const configText = await readFile(config, "utf8");
  const shell = devshellSpec(nixos_flake || null);
  const devshellDrv = await devshellDrvPath(shell);
  const parts = kernelIdentityParts({ configText, compiler, makeArgv: checkMakeArgs(make_args), arch, devshellDrv, sourceTree: head.tree, reproducible });
  const identity = buildIdentity(parts);
  const isTag = (await run(["git", "-C", worktree, "rev-parse", "--verify", "--quiet", `refs/tags/${git_ref}^{commit}`], { quiet: true, allowFailure: true })).exitCode === 0;
  const wanted = deriveLabel({ customLabel: custom_label ? label : null, coverSubject: cover_subject || null, ref: git_ref, refIsUpstreamTag: isTag && !cover_subject });
  console.log(`identity ${identity} over ${JSON.stringify({ ...parts, config: `sha256:${parts.config}` })}`);

  const decision = await decideReuse(KernelManifest, STORE_PROJECT, identity, reuse);
  if (decision.reuse && decision.manifest) {
    await setProgress(100, `reusing ${decision.manifest.store_key}`);
    const m = decision.manifest;
    return { reused: true, manifest: m, identity, label: m.label, kernelrelease: m.kernelrelease, localversion: m.kernelrelease.slice(m.version.length), version: m.version, store_key: m.store_key, commit: head.commit, tree: head.tree };
  }

  const version = kernelVersionFromMakefile(await readFile(join(worktree, "Makefile"), "utf8"));
  const files: string[] = [];
  for (const dir of [build_dir, worktree]) {
    for (const name of localversionNames(await readdir(dir))) files.push(await readFile(join(dir, name), "utf8"));
  }
  const base = releaseBase(version, files, configString(parseConfig(configText), "LOCALVERSION"));
  const release = planRelease(base, wanted, identity);
  console.log(`label ${release.label}${release.label !== wanted ? ` (shortened from ${wanted})` : ""}, kernelrelease ${release.kernelrelease}`);
  return {
    reused: false,
    manifest: null,
    identity,
    label: release.label,
    kernelrelease: release.kernelrelease,
    localversion: release.localversion,
    version,
    store_key: `${STORE_PROJECT}-${release.kernelrelease}`,
    commit: head.commit,
    tree: head.tree,
  };
}
