// Planning a kselftest run, before the guest is touched: the kernel must carry a
// published kselftest install, the guest must be running and running that kernel, and
// the selected tests must be in the install's kselftest-list.txt. Each failure is one
// InputError naming the field. Pure.

import { InputError } from "../../common/errors.ts";
import { choiceList } from "../../common/inputs.ts";
import type { KernelManifest } from "../../common/manifest.ts";
import type { ListedTest } from "../build/kselftest.ts";

/**
 * The tests to run, in the order asked: a collection stands for its tests in the
 * install's order, `collection:test` for one test; each runs once. Nothing selected
 * means every installed test. An unknown name is an InputError on `tests[i]`.
 */
export function selectTests(requested: readonly string[], listed: readonly ListedTest[]): string[] {
  if (requested.length === 0) return listed.map((t) => t.name);
  const out: string[] = [];
  const add = (n: string) => {
    if (!out.includes(n)) out.push(n);
  };
  const collections = [...new Set(listed.map((t) => t.collection))];
  for (const [i, sel] of requested.entries()) {
    if (sel.includes(":")) {
      if (!listed.some((t) => t.name === sel)) {
        const collection = sel.slice(0, sel.lastIndexOf(":"));
        const same = listed.filter((t) => t.collection === collection).map((t) => t.name);
        const offer = same.length ? same : listed.map((t) => t.name);
        throw new InputError(`tests[${i}]`, `a test the kernel's kselftest install has (${choiceList(offer)})`, sel);
      }
      add(sel);
    } else {
      if (!collections.includes(sel)) throw new InputError(`tests[${i}]`, `a collection the kernel's kselftest install has (${choiceList(collections)})`, sel);
      for (const t of listed) if (t.collection === sel) add(t.name);
    }
  }
  return out;
}

/** What the run needs of the kernel manifest: its kselftest install, published (so the guest sees it in /nix/store). */
export function kselftestInstallOf(m: KernelManifest): string {
  if (!m.selftests) throw new InputError("kernel", "a kernel built with selftests (f/kernel/build's selftests input); this one has none", m.store_key);
  if (!m.store_path || !m.selftests.install_dir.startsWith(`${m.store_path}/`)) {
    throw new InputError("kernel", "a published kernel (its kselftest install in the Nix store, which the guest shares)", m.store_key);
  }
  return m.selftests.install_dir;
}

/** What f/qsu/status says of the guest, as far as the run cares. */
export interface GuestView {
  state: string;
  booted: { kernel: { identity: string; store_key: string } } | null;
}

/** The guest is running, and running this kernel. */
export function checkGuestRuns(vm: string, guest: GuestView, m: KernelManifest): void {
  if (guest.state !== "running") throw new InputError("vm", `a running guest (boot it with f/qsu/boot; it is ${guest.state})`, vm);
  const booted = guest.booted?.kernel;
  if (!booted) throw new InputError("vm", "a guest that has come up (f/qsu/boot waits for that)", vm);
  if (booted.identity !== m.identity) throw new InputError("kernel", `the kernel ${vm} runs (${booted.store_key})`, m.store_key);
}
