// f/kernel/results: the kselftest result sets kept under the Workbench
// (SYSTEM_DIR/results/kernel-<identity>/<time>[-<label>]/), latest first: one kernel's
// (by its build identity) or every kernel's. Each entry says where the result set is,
// which kernel and guest it ran on, how it ended and its counts. Reads only.

import { InputError } from "../common/errors.ts";
import { workbenchLayout } from "../common/layout.ts";
import { countsText, listResultSets } from "./selftests/results.ts";

export async function main(identity: string = "", limit: number = 20) {
  const id = (identity ?? "").trim();
  if (id !== "" && !/^[0-9a-f]{12}$/.test(id)) throw new InputError("identity", "a kernel build identity (12 lowercase hex digits), or empty for every kernel", identity);
  const max = limit ?? 20;
  if (!Number.isInteger(max) || max < 1) throw new InputError("limit", "a whole number of result sets greater than 0", limit);
  const sets = await listResultSets(workbenchLayout(), id || null);
  const shown = sets.slice(0, max).map((r) => ({
    dir: r.dir,
    started_at: r.started_at,
    label: r.label,
    vm: r.vm,
    identity: r.kernel.identity,
    kernelrelease: r.kernel.kernelrelease,
    state: r.state,
    summary: r.summary,
  }));
  for (const r of sets.slice(0, max)) console.log(`${r.started_at}  ${r.kernel.kernelrelease}${r.label ? ` [${r.label}]` : ""}  ${r.state}  ${countsText(r.summary)}  ${r.dir}`);
  if (sets.length === 0) console.log(id ? `no result sets for kernel ${id}` : "no result sets yet: run f/kernel/selftests");
  return { total: sets.length, results: shown };
}
