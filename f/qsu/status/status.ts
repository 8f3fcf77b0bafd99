// f/qsu/status: the guest's units and their states, its uptime, and which kernel, QEMU
// and closure it is configured to run (`runs`) and ran when last up (`booted`).

import { guestStatus } from "../lib/guest.ts";

export async function main(vm: string) {
  return guestStatus(vm);
}
