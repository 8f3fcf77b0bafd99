// f/qemu/publish: store a QEMU build in the Store as qemu-<version>-<label>-<identity>.
// The install tree (the manifest's destdir) goes into the Nix store, a GC-root link
// SYSTEM_DIR/store-index/<key> points at it, and the manifest is recorded beside it with
// its paths rebased into the store path, so a later build with the same identity reuses
// it. A Nix-package build's tree already is a store path and is rooted as it is.
//
// The build flow runs this as its publish step; it also runs alone on a build's
// result.json (or manifest object), e.g. to publish again after the link was removed.

import { loadManifest, QemuManifest } from "../common/manifest.ts";
import { publish } from "../common/pipeline/store.ts";
import { setProgress } from "../common/progress.ts";
import { PROJECT } from "./build/plan.ts";

export async function main(manifest: object | string) {
  const m = await loadManifest("manifest", QemuManifest, manifest);
  if (m.reused && m.store_path) {
    console.log(`publish: ${m.store_key} is already published at ${m.store_path}`);
    return m;
  }
  await setProgress(96, `publish ${m.store_key}`);
  const published = await publish<QemuManifest>({
    project: PROJECT,
    identity: m.identity,
    key: m.store_key,
    tree: m.destdir,
    manifest: { ...m, reused: false },
    extra: (storePath) => ({ store_path: storePath }),
  });
  return QemuManifest.parse(published.manifest);
}
