// f/qsu/stop: ask the guest to power off (QMP system_powerdown), wait at most
// timeout_s, then stop its units (SIGTERM, then SIGKILL), QEMU before its virtiofsd
// daemons. Afterwards no QEMU or virtiofsd process of the guest is left.

import { parseInputs } from "../../common/inputs.ts";
import { stopGuest } from "../lib/guest.ts";
import { Inputs } from "./inputs.ts";

export async function main(flow_input: object) {
  const i = parseInputs(Inputs, flow_input);
  return stopGuest(i.vm, i.timeout_s);
}
