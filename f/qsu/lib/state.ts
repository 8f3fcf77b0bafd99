// The per-VM state file, SYSTEM_DIR/vms/<vm>/vm.json. `current` is what the units are
// configured to run (written when boot writes them); `booted` is what was running the
// last time the guest was seen up (written when boot saw it ready). "Is this guest
// running what I built?" is a comparison of the two.

import { readFile } from "node:fs/promises";
import { writeJsonAtomic } from "../../common/atomic.ts";

export interface RunsWhat {
  kernel: { image: string; kernelrelease: string; identity: string; store_key: string };
  qemu: { qemu_binary: string; version: string; identity: string; store_key: string; method: string };
  closure: { toplevel: string; init: string; initrd: string };
  accel: "kvm" | "tcg";
  qemu_argv: string[];
  units: string[];
}

export interface VmState {
  vm: string;
  current: (RunsWhat & { configured_at: string }) | null;
  booted: (RunsWhat & { up_at: string; kernelrelease_seen: string | null }) | null;
}

export async function readState(path: string): Promise<VmState | null> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as VmState;
  } catch {
    return null;
  }
}

export async function writeState(path: string, state: VmState): Promise<void> {
  await writeJsonAtomic(path, state);
}

/** True when the guest that was last up runs what the units are configured for. */
export function runsCurrent(state: VmState | null): boolean {
  if (!state?.current || !state.booted) return false;
  const a = state.current;
  const b = state.booted;
  return a.kernel.image === b.kernel.image && a.qemu.qemu_binary === b.qemu.qemu_binary && a.closure.toplevel === b.closure.toplevel && a.qemu_argv.join("\0") === b.qemu_argv.join("\0");
}
