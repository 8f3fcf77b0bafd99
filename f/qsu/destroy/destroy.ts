// f/qsu/destroy: stop the guest, then remove its unit drop-ins, its state folder
// (console log, extra disks), its runtime folder, and the templates when no guest uses
// them any more. Returns every path it removed.

import { parseInputs } from "../../common/inputs.ts";
import { destroyGuest } from "../lib/guest.ts";
import { Inputs } from "./inputs.ts";

export async function main(flow_input: object) {
  const i = parseInputs(Inputs, flow_input);
  return destroyGuest(i.vm, process.env, i.timeout_s);
}
