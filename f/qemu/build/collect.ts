// collect: write the manifest as result.json (validated with the QemuManifest schema the
// boot flow reads, atomically) and return it as the flow result.

import { QemuManifest } from "../../common/manifest.ts";
import { writeManifest } from "../../common/pipeline/manifest_io.ts";
import { setProgress } from "../../common/progress.ts";

export async function main(manifest: object, result_dir: string) {
  const written = await writeManifest(QemuManifest, result_dir, manifest);
  console.log(`collect: ${result_dir}/result.json: ${written.qemu_binary} (${written.store_key}${written.reused ? ", reused" : ""})`);
  await setProgress(100, written.reused ? `reused ${written.store_key}` : `built ${written.store_key}`);
  return written;
}
