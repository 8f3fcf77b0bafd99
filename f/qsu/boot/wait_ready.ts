// Step 3 of f/qsu/boot: wait until the guest is really up (its console marker, or an
// SSH banner on the forwarded port) within the timeout, record it as `booted`, and
// return {vm, units, console_log, qmp_socket, ssh, kernelrelease, state}.

import { waitBoot, type PreparedBoot } from "../lib/guest.ts";

export async function main(plan: unknown) {
  return waitBoot(plan as PreparedBoot);
}
