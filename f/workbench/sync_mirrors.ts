// sync_mirrors: the first step of f/workbench/init and f/workbench/fetch. Parses the
// flow's inputs once (init's or fetch's schema, by `flow`). init without sources takes
// sources.toml's list; fetch without sources (the refresh schedule) refreshes what the
// Workbench mirrors. It checks, for a source not cloned yet, that its URL is a git
// repository, before anything on disk changes; then per source: clone the mirror if
// missing or incomplete, and, for fetch, refresh it (only the due ones with only_due).
// One source failing does not stop the others; its entry carries the error and
// sync_bares fails the flow after the rest are done.

import { parseInputs } from "../common/inputs.ts";
import { workbenchLayout, type WorkbenchLayout } from "../common/layout.ts";
import { setProgress } from "../common/progress.ts";
import { Inputs as FetchInputs } from "./fetch/inputs.ts";
import { Inputs as InitInputs } from "./init/inputs.ts";
import { checkSourcesReachable, mirroredSources, syncMirror, type MirrorMode, type MirrorResult } from "./mirror.ts";
import { DEFAULT_SOURCES, type Source } from "./sources.ts";

/**
 * The sources of one run and how their mirrors are synced: init ensures, fetch refreshes
 * (only the due ones with only_due). A fetch given no sources (null: the schedule's case)
 * has `list: null`: it refreshes what the Workbench mirrors.
 */
export function planRun(flow: "init" | "fetch", flowInput: unknown): { list: Source[] | null; mode: MirrorMode } {
  if (flow === "init") return { list: parseInputs(InitInputs, flowInput).sources, mode: "ensure" };
  const i = parseInputs(FetchInputs, flowInput);
  return { list: i.sources ?? null, mode: i.only_due ? "refresh-due" : "refresh" };
}

/** What a fetch with no sources refreshes: every source the Workbench mirrors, else sources.toml's list. */
async function sourcesToRefresh(layout: WorkbenchLayout): Promise<Source[]> {
  const mirrored = await mirroredSources(layout);
  if (mirrored.length) return mirrored;
  console.log("sync_mirrors: this Workbench mirrors nothing yet; refreshing the default sources (sources.toml)");
  return DEFAULT_SOURCES;
}

export async function main(flow: "init" | "fetch", flow_input: object) {
  const layout = workbenchLayout();
  const plan = planRun(flow, flow_input);
  const mode = plan.mode;
  const list = plan.list ?? (await sourcesToRefresh(layout));
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
