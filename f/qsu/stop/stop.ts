// f/qsu/stop: ask the guest to power off (QMP system_powerdown), wait at most
// timeout_s, then stop its units (SIGTERM, then SIGKILL), QEMU before its virtiofsd
// daemons. Afterwards no QEMU or virtiofsd process of the guest is left.

import { stopGuest } from "../lib/guest.ts";

export async function main(vm: string, timeout_s: number = 30) {
  return stopGuest(vm, timeout_s);
}
