// A step of f/workbench/init: make the Workbench's managed SSH key pair once
// (SYSTEM_DIR/ssh/id_ed25519, mode 0600, and id_ed25519.pub; see ssh_key.ts). Every
// closure f/nix/build renders authorises it for root and the library's user; the boot
// flow names it in how to log in. Running it again changes nothing.

import { workbenchLayout } from "../common/layout.ts";
import { setProgress } from "../common/progress.ts";
import { ensureManagedKey } from "./ssh_key.ts";

export async function main() {
  const key = await ensureManagedKey(workbenchLayout());
  console.log(`managed SSH key: ${key.private_key} (${key.created ? "made now" : "already there"})`);
  await setProgress(100, "managed key");
  return key;
}
