// f/qsu/status: the guest's units and their states, its uptime, and which kernel, QEMU
// and closure it is configured to run (`runs`) and ran when last up (`booted`).

import { parseInputs } from "../../common/inputs.ts";
import { guestStatus } from "../lib/guest.ts";
import { Inputs } from "./inputs.ts";

export async function main(flow_input: object) {
  return guestStatus(parseInputs(Inputs, flow_input).vm);
}
