// publish: put a build's install tree into the Store. The tree (the manifest's destdir)
// is copied into the Nix store (a tree Nix built already is a store path and is rooted
// as it is), a GC-root link SYSTEM_DIR/store-index/<store key> points at it, and the
// manifest is recorded beside it, with its paths rebased into the store path, and
// indexed by identity, so a later build with the same identity is reused.
//
// The build flows run it as their publish step; it also runs alone on a build's
// result.json (or manifest object), e.g. to publish again after the link was removed.

import { BuildManifest, loadManifest } from "../common/manifest.ts";
import { publish } from "../common/pipeline/store.ts";
import { setProgress } from "../common/progress.ts";

export async function main(manifest: object | string) {
  const m = await loadManifest("manifest", BuildManifest, manifest);
  if (m.reused && m.store_path) {
    console.log(`publish: ${m.store_key} is already published at ${m.store_path}`);
    return m;
  }
  await setProgress(10, `publishing ${m.store_key}`);
  const published = await publish<BuildManifest>({
    project: m.kind,
    identity: m.identity,
    key: m.store_key,
    tree: m.destdir,
    manifest: { ...m, reused: false },
    extra: (storePath) => ({ store_path: storePath }),
  });
  await setProgress(100, `published ${published.storePath}`);
  return BuildManifest.parse(published.manifest);
}
