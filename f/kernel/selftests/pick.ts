// Naming a result set: an absolute path (a result directory or its result.json), a
// kernel build identity (its latest result set) or a result label (the latest result set
// carrying it). `pickResultSet` decides among listed sets (pure); `resolveResultSet`
// lists and loads.

import { InputError } from "../../common/errors.ts";
import type { WorkbenchLayout } from "../../common/layout.ts";
import { listResultSets, loadResultSet, type ResultSet } from "./results.ts";

const EXPECTED = "a result directory (absolute), a kernel build identity or a result label that f/kernel/results lists";

/** The latest listed set (lists are latest first) of that identity, else of that label. Pure. */
export function pickResultSet(field: string, ref: string, sets: readonly ResultSet[]): ResultSet {
  const r = ref.trim();
  const byIdentity = /^[0-9a-f]{12}$/.test(r) ? sets.find((s) => s.kernel.identity === r) : undefined;
  const found = byIdentity ?? sets.find((s) => s.label !== "" && s.label === r);
  if (!found) throw new InputError(field, EXPECTED, ref);
  return found;
}

export async function resolveResultSet(layout: WorkbenchLayout, field: string, ref: string): Promise<ResultSet> {
  if (typeof ref !== "string" || ref.trim() === "") throw new InputError(field, EXPECTED, ref);
  if (ref.startsWith("/")) {
    return loadResultSet(ref).catch(() => {
      throw new InputError(field, "a result directory holding a result.json f/kernel/selftests wrote", ref);
    });
  }
  return pickResultSet(field, ref, await listResultSets(layout));
}
