// sync_mirrors: the first step of f/workbench/init and f/workbench/fetch. Validates the
// sources (and, for a source not cloned yet, that its URL is a git repository) before
// anything on disk changes, then per source: clone the mirror if missing or
// incomplete, and refresh it per `mode`. One source failing does not stop the others;
// its entry carries the error and sync_bares fails the flow after the rest are done.

import { workbenchLayout } from "../common/layout.ts";
import { setProgress } from "../common/progress.ts";
import { checkSourcesReachable, syncMirror, type MirrorResult } from "./mirror.ts";
import { checkSources } from "./sources.ts";

export async function main(
  sources: { name: string; url: string; refresh_minutes?: number }[],
  mode: "ensure" | "refresh" | "refresh-due" = "ensure",
) {
  const layout = workbenchLayout();
  const list = checkSources(sources);
  await checkSourcesReachable(layout, list);
  const out: (MirrorResult | { name: string; url: string; error: string })[] = [];
  for (const [i, source] of list.entries()) {
    await setProgress((100 * i) / list.length, `mirror ${source.name}`);
    try {
      const res = await syncMirror(layout, source, mode);
      console.log(`mirror ${source.name}: ${res.action}, ${res.refs} refs, +${res.changes.counts.new} ~${res.changes.counts.updated} -${res.changes.counts.deleted}`);
      out.push(res);
    } catch (err) {
      console.error(`mirror ${source.name}: ${(err as Error).message}`);
      out.push({ name: source.name, url: source.url, error: (err as Error).message });
    }
  }
  await setProgress(100, "mirrors done");
  return out;
}
