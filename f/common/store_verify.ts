// f/common/store_verify: check the whole Store index against the store paths' own
// manifests and repair what is wrong (entries that do not parse, point at a store path
// that is gone or holds another build, disagree with it; links to paths that are gone;
// manifests without a link; temporary files of writers that died). Prints one sentence
// per repair and returns them; on a clean index it changes nothing. With dry_run it
// only says what it would repair. See docs/kernel-build.md ("The Store index").
//
// Locally: node_modules/.bin/bun f/common/store_verify.ts [--dry-run]

import { verifyStoreIndex } from "./pipeline/store.ts";
import { workbenchLayout } from "./layout.ts";

export async function main(dry_run: boolean = false) {
  const layout = workbenchLayout();
  const report = await verifyStoreIndex({ layout, dryRun: dry_run });
  for (const line of report.repairs) console.log(line);
  const what = report.repairs.length === 0 ? "nothing to repair" : dry_run ? `${report.repairs.length} repairs needed, none made (dry run)` : `${report.repairs.length} repaired`;
  const entries = `${report.checked} ${report.checked === 1 ? "entry" : "entries"}`;
  console.log(`store verify: ${entries} checked in ${layout.systemDir}/store-index; ${what}`);
  return { checked: report.checked, repairs: report.repairs, changed: !dry_run && report.repairs.length > 0 };
}

if ((import.meta as { main?: boolean }).main) {
  const res = await main(process.argv.includes("--dry-run"));
  process.exitCode = res.repairs.length && process.argv.includes("--dry-run") ? 1 : 0;
}
