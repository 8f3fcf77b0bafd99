// check_inputs: the first step of f/kernel/selftests. Parses flow_input once, loads the
// kernel manifest (given whole, as a result.json path, or by its Store key), and checks,
// before the guest is touched: the kernel carries a published kselftest install, the
// selected tests are in its kselftest-list.txt, the guest is running that kernel and can
// be logged into. Every later step reads what it returns.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";
import { parseInputs } from "../../common/inputs.ts";
import { systemPaths, workbenchLayout, type WorkbenchLayout } from "../../common/layout.ts";
import { KernelManifest, loadManifest } from "../../common/manifest.ts";
import { checkStoreKey } from "../../common/pipeline/store.ts";
import { setProgress } from "../../common/progress.ts";
import { guestStatus } from "../../qsu/lib/guest.ts";
import { KSELFTEST_LIST, parseKselftestList } from "../build/kselftest.ts";
import { guestAccess } from "./guest.ts";
import { Inputs } from "./inputs.ts";
import { checkGuestRuns, kselftestInstallOf, selectTests } from "./plan.ts";

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

export async function main(flow_input: object) {
  const inputs = parseInputs(Inputs, flow_input);
  const layout = workbenchLayout();
  const kernel = await loadKernel(layout, inputs.kernel);
  const installDir = kselftestInstallOf(kernel);
  const list = join(installDir, KSELFTEST_LIST);
  if (!existsSync(list)) throw new InputError("kernel", `a kernel whose kselftest install is still in the Nix store (${list} is gone)`, kernel.store_key);
  const tests = selectTests(inputs.tests, parseKselftestList(await readFile(list, "utf8")));
  await setProgress(50, `${tests.length} tests selected; looking at ${inputs.vm}`);
  const status = await guestStatus(inputs.vm);
  checkGuestRuns(inputs.vm, status, kernel);
  const guest = guestAccess(layout, process.env, inputs.vm);
  console.log(`check_inputs: ${tests.length} kselftests of ${kernel.kernelrelease} on ${inputs.vm}, ${inputs.timeout_s} s each`);
  await setProgress(100, "inputs checked");
  return {
    inputs: { vm: inputs.vm, tests: inputs.tests, timeout_s: inputs.timeout_s, label: inputs.label },
    kernel: { identity: kernel.identity, kernelrelease: kernel.kernelrelease, store_key: kernel.store_key, label: kernel.label },
    install_dir: installDir,
    tests,
    guest,
  };
}
