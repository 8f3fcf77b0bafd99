// The inputs of f/workbench/fetch, declared once: the form is generated from this object
// (scripts/flow-forms.ts) and the first step (sync_mirrors) parses flow_input with it.
// The refresh schedule passes only `only_due`: sources then takes its default.

import { z } from "zod";
import { field } from "../../common/inputs.ts";
import { sourcesField } from "../sources.ts";

export const Inputs = z.strictObject({
  sources: sourcesField("refresh"),
  only_due: field(z.boolean().default(false), { description: "Refresh a source only when its refresh_minutes have passed since its last refresh." }),
});
export type Inputs = z.output<typeof Inputs>;
