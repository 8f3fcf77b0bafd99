// Checking a kselftest run before the guest is touched: parse flow_input once, load the
// kernel manifest (given whole, as a result.json path, or by its Store key), and check
// that the kernel carries a published kselftest install, the selected tests are in its
// kselftest-list.txt, and the guest is running that kernel and can be logged into. The
// decisions are plan.ts's; this reads what they need from the disk and the manager.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";
import { parseInputs } from "../../common/inputs.ts";
import { systemPaths, workbenchLayout, type WorkbenchLayout } from "../../common/layout.ts";
import { KernelManifest, loadManifest } from "../../common/manifest.ts";
import { checkStoreKey } from "../../common/pipeline/store.ts";
import { guestStatus } from "../../qsu/lib/guest.ts";
import { KSELFTEST_LIST, parseKselftestList } from "../build/kselftest.ts";
import { guestAccess, type GuestAccess } from "./guest.ts";
import { Inputs } from "./inputs.ts";
import { checkGuestRuns, kselftestInstallOf, selectTests } from "./plan.ts";
import type { KernelRef } from "./results.ts";

/** The kernel manifest: an object, the path of a result.json, or a Store key looked up in SYSTEM_DIR/store-index. */
async function loadKernel(layout: WorkbenchLayout, kernel: string | Record<string, unknown>): Promise<KernelManifest> {
  if (typeof kernel !== "string" || kernel.startsWith("/")) return loadManifest("kernel", KernelManifest, kernel);
  let key: string;
  try {
    key = checkStoreKey(kernel);
  } catch {
    throw new InputError("kernel", "a kernel manifest object, the path of its result.json, or its Store key (kernel-<kernelrelease>)", kernel);
  }
  const file = join(systemPaths.storeIndex(layout), `${key}.json`);
  if (!existsSync(file)) throw new InputError("kernel", "the Store key of a published kernel (kernel-<kernelrelease>, as f/kernel/build returns it)", kernel);
  return loadManifest("kernel", KernelManifest, file);
}

export interface CheckedRun {
  inputs: { vm: string; timeout_s: number; label: string };
  kernel: KernelRef;
  install_dir: string;
  /** The selected tests, in run order. */
  tests: string[];
  guest: GuestAccess;
}

export async function checkRun(flow_input: object): Promise<CheckedRun> {
  const inputs = parseInputs(Inputs, flow_input);
  const layout = workbenchLayout();
  const kernel = await loadKernel(layout, inputs.kernel);
  const installDir = kselftestInstallOf(kernel);
  const list = join(installDir, KSELFTEST_LIST);
  if (!existsSync(list)) throw new InputError("kernel", `a kernel whose kselftest install is still in the Nix store (${list} is gone)`, kernel.store_key);
  const tests = selectTests(inputs.tests, parseKselftestList(await readFile(list, "utf8")));
  const status = await guestStatus(inputs.vm);
  checkGuestRuns(inputs.vm, status, kernel);
  const guest = guestAccess(layout, process.env, inputs.vm);
  console.log(`selftests: ${tests.length} kselftests of ${kernel.kernelrelease} on ${inputs.vm}, ${inputs.timeout_s} s each`);
  return {
    inputs: { vm: inputs.vm, timeout_s: inputs.timeout_s, label: inputs.label },
    kernel: { identity: kernel.identity, kernelrelease: kernel.kernelrelease, store_key: kernel.store_key, label: kernel.label },
    install_dir: installDir,
    tests,
    guest,
  };
}
