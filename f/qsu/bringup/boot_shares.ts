// A step of f/qsu/bringup: the closure's shares (the nix group's `shares`, which the
// NixOS config mounts) as the boot plan exports them, under the same tags. The tags and
// mount points are checked and defaulted by the closure's own planner (checkShares), so
// the guest mounts exactly what the host exports.

import { checkShares } from "../../nix/build/plan.ts";

export async function main(shares: { source: string; target?: string; tag?: string; read_only?: boolean }[] = []) {
  return checkShares(shares).map((s) => ({ tag: s.tag, path: s.source, readonly: s.readOnly }));
}
