// sync_bares: the second step of f/workbench/init and f/workbench/fetch. For each mirror
// the first step handled, provision or fetch its Bare, and return per source the
// mirror and Bare paths, their ref counts and what changed. Fails the flow at the end
// if any source failed, naming each.

import { workbenchLayout } from "../common/layout.ts";
import { setProgress } from "../common/progress.ts";
import { ensureBare } from "./bare.ts";
import { summarise, type SourceReport } from "./report.ts";

export async function main(mirrors: object[]) {
  const layout = workbenchLayout();
  const reports: SourceReport[] = [];
  for (const [i, m] of (mirrors as Record<string, unknown>[]).entries()) {
    await setProgress((100 * i) / mirrors.length, `bare ${String(m.name)}`);
    if (typeof m.error === "string") {
      reports.push(summarise(m, null, m.error));
      continue;
    }
    try {
      reports.push(summarise(m, await ensureBare(layout, String(m.name)), null));
    } catch (err) {
      reports.push(summarise(m, null, (err as Error).message));
    }
  }
  await setProgress(100, "Bares done");
  const failed = reports.filter((r) => r.error !== null);
  if (failed.length) throw new Error(`workbench: ${failed.map((r) => `${r.name}: ${r.error}`).join("; ")}`);
  return reports;
}
