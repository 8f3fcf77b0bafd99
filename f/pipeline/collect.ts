// collect: the last step of every build flow. Writes the manifest (the freshly published
// one, or the reused one identify found) as result.json in the build dir, atomically and
// validated with the schema downstream flows read, gives back the worktree this run
// leased (f/workbench/lease.ts), and returns the manifest as the flow result.

import { BuildManifest } from "../common/manifest.ts";
import { readResult } from "../common/inputs.ts";
import { workbenchLayout } from "../common/layout.ts";
import { writeManifest } from "../common/pipeline/manifest_io.ts";
import { setProgress } from "../common/progress.ts";
import { holderFromEnv, releaseLeases } from "../workbench/lease.ts";

export async function main(manifest: object, result_dir: string) {
  const m = readResult(BuildManifest, manifest, "the manifest from publish, or the reused one from identify");
  const written = await writeManifest(BuildManifest, result_dir, m);
  const what = written.kind === "kernel" ? written.kernelrelease : written.qemu_binary;
  console.log(`collect: ${result_dir}/result.json: ${what} (${written.store_key}${written.reused ? ", reused" : ""})`);
  const released = await releaseLeases(workbenchLayout(), holderFromEnv());
  if (released.length) console.log(`collect: gave back the worktree lease of ${released.join(", ")}`);
  await setProgress(100, `${written.reused ? "reused" : "built"} ${written.store_key}`);
  return written;
}
