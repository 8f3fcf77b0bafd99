// collect: write the manifest as result.json in the build dir (atomically, validated
// with the KernelManifest schema the boot flow reads) and return it as the flow result:
// the freshly published manifest, or the reused one.

import { KernelManifest } from "../../common/manifest.ts";
import { InputError } from "../../common/errors.ts";
import { writeManifest } from "../../common/pipeline/manifest_io.ts";

export async function main(build_dir: string, manifest: object) {
  if (!manifest || Object.keys(manifest).length === 0) throw new InputError("manifest", "the manifest from publish, or the reused one from identify", manifest);
  const written = await writeManifest(KernelManifest, build_dir, manifest);
  console.log(`${written.reused ? "reused" : "built"} ${written.kernelrelease}: ${written.image}`);
  return written;
}
