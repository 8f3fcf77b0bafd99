// sync_mirrors: the first step of f/workbench/init and f/workbench/fetch. Parses the
// flow's inputs once (init's or fetch's schema, by `flow`; a source list not given takes
// sources.toml's default) and checks, for a source not cloned yet, that its URL is a git
// repository, before anything on disk changes; then per source: clone the mirror if
// missing or incomplete, and, for fetch, refresh it (only the due ones with only_due). One source failing does not stop the others;
// its entry carries the error and sync_bares fails the flow after the rest are done.

import { parseInputs } from "../common/inputs.ts";
import { workbenchLayout } from "../common/layout.ts";
import { setProgress } from "../common/progress.ts";
import { Inputs as FetchInputs } from "./fetch/inputs.ts";
import { Inputs as InitInputs } from "./init/inputs.ts";
import { checkSourcesReachable, syncMirror, type MirrorMode, type MirrorResult } from "./mirror.ts";
import type { Source } from "./sources.ts";

/** The sources of one run and how their mirrors are synced: init ensures, fetch refreshes (only the due ones with only_due). */
export function planRun(flow: "init" | "fetch", flowInput: unknown): { list: Source[]; mode: MirrorMode } {
  if (flow === "init") return { list: parseInputs(InitInputs, flowInput).sources, mode: "ensure" };
  const i = parseInputs(FetchInputs, flowInput);
  return { list: i.sources, mode: i.only_due ? "refresh-due" : "refresh" };
}

export async function main(flow: "init" | "fetch", flow_input: object) {
  const layout = workbenchLayout();
  const { list, mode } = planRun(flow, flow_input);
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
