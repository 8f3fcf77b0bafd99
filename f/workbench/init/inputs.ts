// The inputs of f/workbench/init, declared once: the form is generated from this object
// (scripts/flow-forms.ts) and the first step (sync_mirrors) parses flow_input with it.

import { z } from "zod";
import { sourcesField } from "../sources.ts";

export const Inputs = z.strictObject({
  sources: sourcesField("provision"),
});
export type Inputs = z.output<typeof Inputs>;
