// f/qsu/destroy: stop the guest, then remove its unit drop-ins, its state folder
// (console log, extra disks), its runtime folder, and the templates when no guest uses
// them any more. Returns every path it removed.

import { destroyGuest } from "../lib/guest.ts";

export async function main(vm: string, timeout_s: number = 10) {
  return destroyGuest(vm, process.env, timeout_s);
}
