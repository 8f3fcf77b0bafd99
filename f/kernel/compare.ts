// f/kernel/compare: the A/B question of two kselftest result sets. `a` is the base, `b`
// the one to judge (say, the same tests on a kernel with a patch series); each is a
// result directory (or its result.json), a kernel build identity (that kernel's latest
// run) or a result label (the latest run with it). Returns what regressed, was fixed,
// is new, is gone and stayed the same, as JSON with a short human summary. Reads only.

import { workbenchLayout } from "../common/layout.ts";
import { compareResultSets, comparisonText } from "./selftests/compare.ts";
import { resolveResultSet } from "./selftests/pick.ts";

export async function main(a: string, b: string) {
  const layout = workbenchLayout();
  const left = await resolveResultSet(layout, "a", a);
  const right = await resolveResultSet(layout, "b", b);
  const comparison = compareResultSets(left, right);
  const text = comparisonText(comparison);
  console.log(text);
  return { ...comparison, text };
}
