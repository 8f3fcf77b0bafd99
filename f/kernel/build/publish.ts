// publish: copy destdir into the Nix store as kernel-<kernelrelease>, root it under
// SYSTEM_DIR/store-index/ and index it by identity, so a later build with the same
// identity is reused. The manifest it returns points into the store (destdir is
// rewritten by the next build; the store path is not).

import { KernelManifest } from "../../common/manifest.ts";
import { setProgress } from "../../common/progress.ts";
import { publish } from "../../common/pipeline/store.ts";
import { STORE_PROJECT } from "./plan.ts";

export async function main(
  worktree: string,
  destdir: string,
  image: string,
  config: string,
  kernelrelease: string,
  version: string,
  identity: string,
  label: string,
  store_key: string,
  commit: string,
  git_ref: string,
  config_method: "make_target" | "preset" | "fragments",
  arch: "x86_64" | "arm64" = "x86_64",
  compiler: "gcc" | "clang" = "gcc",
  modules_dir: string = "",
  compile_commands: string = "",
  b4_series: string = "",
) {
  const built: KernelManifest = KernelManifest.parse({
    kind: "kernel",
    image,
    modules_dir: modules_dir || null,
    kernelrelease,
    version,
    identity,
    label,
    commit,
    ref: git_ref,
    config,
    config_method,
    arch,
    compiler,
    compile_commands: compile_commands || null,
    destdir,
    store_path: null,
    store_key,
    worktree,
    b4_series: b4_series || null,
    reused: false,
    built_at: new Date().toISOString(),
  });
  await setProgress(10, `publishing ${store_key}`);
  const res = await publish({ project: STORE_PROJECT, identity, key: store_key, tree: destdir, manifest: built, extra: (p) => ({ store_path: p }) });
  await setProgress(100, `published ${res.storePath}`);
  return res.manifest;
}
