// Step 1 of f/qsu/boot: parse the boot form once (boot/inputs.ts; null means not given),
// then validate it against its manifests and the machine (share folders exist, host
// ports are free, virtiofsd and the accelerator found), and plan the unit files and the
// QEMU command line. Nothing on disk changes; the plan is printed and returned for the
// apply and wait_ready steps.

import { prepareBoot } from "../lib/guest.ts";

export async function main(flow_input: object) {
  return prepareBoot(flow_input as Record<string, unknown>);
}
