// The inputs of f/workbench/fetch, declared once: the form is generated from this object
// (scripts/flow-forms.ts) and the first step (sync_mirrors) parses flow_input with it.
// With no `sources` (what the refresh schedule passes: only `only_due`), fetch refreshes
// every source this Workbench already mirrors, with the URL and interval its last sync
// recorded; a Workbench with none refreshes sources.toml's list.

import { z } from "zod";
import { checkedBy, field } from "../../common/inputs.ts";
import { checkSources, SourceItem } from "../sources.ts";

export const Inputs = z.strictObject({
  sources: field(z.array(SourceItem).optional().superRefine(checkedBy((list: unknown) => list === undefined || checkSources(list, ""), "relative")), {
    description: "The upstreams to refresh, each {name, url, refresh_minutes}. Empty: every source this Workbench already mirrors (else the list in sources.toml).",
  }),
  only_due: field(z.boolean().default(false), { description: "Refresh a source only when its refresh_minutes have passed since its last refresh." }),
});
export type Inputs = z.output<typeof Inputs>;
