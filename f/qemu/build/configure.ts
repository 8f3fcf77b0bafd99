// configure: the step that decides the build. It reads the checked-out tree (VERSION,
// configs/targets), checks the targets against it, names the build (label, identity,
// install prefix, Store key) and, when that identity is already published and reuse is
// on, stops there: compile, devtools and install then skip, and the flow returns the
// published manifest. Otherwise it writes the shared ccache configuration, runs
// `meson subprojects download` when the tree has wrap files (never fatal: offline it
// just logs), and runs QEMU's configure in build/ inside the dev shell.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ccacheDirFor, checkCcacheSize, writeCcacheConf } from "../../common/devshell/ccache.ts";
import { devshellSpec, runInDevshell } from "../../common/devshell/nix_develop.ts";
import { InputError } from "../../common/errors.ts";
import { workbenchLayout } from "../../common/layout.ts";
import { QemuManifest } from "../../common/manifest.ts";
import { checkCustomLabel } from "../../common/pipeline/label.ts";
import { decideReuse } from "../../common/pipeline/reuse.ts";
import { setProgress } from "../../common/progress.ts";
import { CommandError } from "../../common/run.ts";
import { nameBuild } from "./naming.ts";
import { checkCompiler, configureArgv, normalizeTargetList, PROJECT, showsWerror, splitConfigureArgs, werrorAdvice, type Configured } from "./plan.ts";

/** How long `meson subprojects download` may try before the build goes on without it. */
const SUBPROJECTS_TIMEOUT_MS = 120_000;

/** configure's own complaint about an option it does not know, as one sentence. */
function unknownOption(lines: readonly string[]): string | null {
  for (const l of lines) {
    const m = /^ERROR: (?:unknown option|Unknown option) (.*)$/.exec(l.trim());
    if (m) return m[1]!;
  }
  return null;
}

export async function main(
  worktree: string,
  build_dir: string,
  destdir: string,
  commit: string,
  ref: string,
  tree: string,
  resolved_ref: string = "",
  target_list: string[] = ["x86_64-softmmu"],
  compiler: "gcc" | "clang" = "gcc",
  custom_label: boolean = false,
  label: string = "",
  configure_args: string = "",
  ccache: boolean = true,
  ccache_max_size: string = "10G",
  reuse: boolean = true,
  nixos_flake: string = "",
) {
  // Inputs first: nothing below runs on bad input.
  const targets = normalizeTargetList(target_list);
  const cc = checkCompiler(compiler);
  const extraArgs = splitConfigureArgs(configure_args);
  const customLabel = custom_label ? checkCustomLabel(label) : null;
  const maxSize = checkCcacheSize(ccache_max_size);
  const spec = devshellSpec(nixos_flake);
  const { facts, identity, label: name, prefix, storeKey: key } = await nameBuild({
    worktree,
    destdir,
    tree,
    ref,
    resolvedRef: resolved_ref,
    targets,
    compiler: cc,
    extraArgs,
    customLabel,
    devshell: spec,
  });
  console.log(`qemu ${facts.version}: identity ${identity}, label ${name}, prefix ${prefix}`);

  const layout = workbenchLayout();
  const cacheDir = ccacheDirFor(layout);
  const base: Omit<Configured, "reused" | "manifest" | "configure_argv"> = {
    identity,
    label: name,
    version: facts.version,
    store_key: key,
    prefix,
    targets,
    compiler: cc,
    worktree,
    build_dir,
    commit,
    ref,
    ccache_env: {},
  };

  const decision = await decideReuse(QemuManifest, PROJECT, identity, reuse, layout);
  if (decision.reuse && decision.manifest) {
    // The label is not part of the identity: a reused build keeps the name it was
    // published under, so the manifest and the Store agree.
    await setProgress(100, `reusing ${decision.manifest.store_key}`);
    return { ...base, reused: true, manifest: decision.manifest, configure_argv: [] } satisfies Configured;
  }

  const ccacheEnv = ccache ? (await writeCcacheConf({ cacheDir, maxSize, baseDir: layout.slotDir })).env : { CCACHE_DISABLE: "1" };

  if (facts.subprojectWraps) {
    await setProgress(2, "meson subprojects download");
    const res = await runInDevshell(spec, ["meson", "subprojects", "download"], { cwd: worktree, allowFailure: true, timeoutMs: SUBPROJECTS_TIMEOUT_MS });
    if (res.exitCode !== 0) console.log("configure: meson subprojects download failed (offline?); going on with the subprojects already in the tree");
  }

  await mkdir(build_dir, { recursive: true });
  const argv = configureArgv({ src: worktree, prefix, targets, compiler: cc, ccache, extraArgs, disableDownload: facts.disableDownload });
  await setProgress(5, "configure");
  const seen: string[] = [];
  try {
    await runInDevshell(spec, argv, { cwd: build_dir, env: ccacheEnv, onLine: (l) => seen.push(l), tailLines: 60 });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const opt = unknownOption(seen);
    if (opt !== null) {
      throw new InputError("configure_args", `options QEMU ${facts.version}'s configure knows (it rejected ${opt}; see configure --help)`, configure_args);
    }
    if (showsWerror(seen)) throw new Error(`${werrorAdvice(ref)}\n${err.message}`);
    throw err;
  }
  await setProgress(10, "configured");
  return { ...base, reused: false, manifest: null, ccache_env: ccacheEnv, configure_argv: argv } satisfies Configured;
}
