// collect: the last step of every build flow. Writes the manifest (the freshly published
// one, or the reused one identify found) as result.json in the build dir, atomically and
// validated with the schema downstream flows read, and returns it as the flow result.

import { BuildManifest } from "../common/manifest.ts";
import { readResult } from "../common/inputs.ts";
import { writeManifest } from "../common/pipeline/manifest_io.ts";
import { setProgress } from "../common/progress.ts";

export async function main(manifest: object, result_dir: string) {
  const m = readResult(BuildManifest, manifest, "the manifest from publish, or the reused one from identify");
  const written = await writeManifest(BuildManifest, result_dir, m);
  const what = written.kind === "kernel" ? written.kernelrelease : written.qemu_binary;
  console.log(`collect: ${result_dir}/result.json: ${what} (${written.store_key}${written.reused ? ", reused" : ""})`);
  await setProgress(100, `${written.reused ? "reused" : "built"} ${written.store_key}`);
  return written;
}
