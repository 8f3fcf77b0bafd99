// Step 2 of f/qsu/boot: write the plan's unit files (atomically) and state, create extra
// disks, daemon-reload, and start qemu-system@<vm> (which pulls in its virtiofsd@ units).
// A guest of that name that is up is stopped first: booting a name again restarts it.

import { applyBoot, type PreparedBoot } from "../lib/guest.ts";

export async function main(plan: unknown) {
  const prepared = plan as PreparedBoot;
  await applyBoot(prepared);
  return { vm: prepared.plan.vm, units: prepared.plan.units, started: prepared.plan.qemuUnit };
}
