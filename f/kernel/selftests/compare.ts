// Comparing two result sets, A (the base) and B (say, the same tests on a kernel with a
// patch series): the A/B question a kernel developer asks. Pure.
//
// Per test name (collection:test):
//   regressed  did not fail in A (pass or skip), fails in B (fail, timeout or error)
//   fixed      failed in A, passes in B
//   new        only in B;  gone: only in A
//   same       the same status in both
//   changed    any other move (pass <-> skip, fail -> skip, fail -> timeout, ...)
//   not_compared  selected on one side but never run there (that run was cut short)

import type { TestStatus } from "./ktap.ts";
import { countsText, type ResultSet } from "./results.ts";

const BAD: readonly TestStatus[] = ["fail", "timeout", "error"];

export interface Move {
  name: string;
  a: TestStatus;
  b: TestStatus;
  /** B's reason (why it failed), when it has one. */
  reason: string | null;
}

export interface SideInfo {
  dir: string;
  kernelrelease: string;
  identity: string;
  label: string;
  started_at: string;
  state: string;
  counts: string;
}

export interface Comparison {
  a: SideInfo;
  b: SideInfo;
  regressed: Move[];
  fixed: Move[];
  new: { name: string; b: TestStatus }[];
  gone: { name: string; a: TestStatus }[];
  same: { name: string; status: TestStatus }[];
  changed: Move[];
  not_compared: string[];
  counts: { regressed: number; fixed: number; new: number; gone: number; same: number; changed: number; not_compared: number };
}

const side = (r: ResultSet): SideInfo => ({
  dir: r.dir,
  kernelrelease: r.kernel.kernelrelease,
  identity: r.kernel.identity,
  label: r.label,
  started_at: r.started_at,
  state: r.state,
  counts: countsText(r.summary),
});

export function compareResultSets(a: ResultSet, b: ResultSet): Comparison {
  const statusA = new Map(a.tests.map((t) => [t.name, t]));
  const statusB = new Map(b.tests.map((t) => [t.name, t]));
  const notRun = new Set([...a.not_run, ...b.not_run]);
  const names: string[] = [];
  for (const n of [...a.selected, ...a.tests.map((t) => t.name), ...b.selected, ...b.tests.map((t) => t.name)]) if (!names.includes(n)) names.push(n);
  const c: Omit<Comparison, "counts"> = { a: side(a), b: side(b), regressed: [], fixed: [], new: [], gone: [], same: [], changed: [], not_compared: [] };
  for (const name of names) {
    const ta = statusA.get(name);
    const tb = statusB.get(name);
    if ((!ta || !tb) && notRun.has(name)) c.not_compared.push(name);
    else if (!ta && tb) c.new.push({ name, b: tb.status });
    else if (ta && !tb) c.gone.push({ name, a: ta.status });
    else if (ta && tb) {
      const move: Move = { name, a: ta.status, b: tb.status, reason: tb.reason };
      if (ta.status === tb.status) c.same.push({ name, status: ta.status });
      else if (!BAD.includes(ta.status) && BAD.includes(tb.status)) c.regressed.push(move);
      else if (BAD.includes(ta.status) && tb.status === "pass") c.fixed.push(move);
      else c.changed.push(move);
    }
  }
  const counts = { regressed: c.regressed.length, fixed: c.fixed.length, new: c.new.length, gone: c.gone.length, same: c.same.length, changed: c.changed.length, not_compared: c.not_compared.length };
  return { ...c, counts };
}

const who = (s: SideInfo) => `${s.kernelrelease}${s.label ? ` [${s.label}]` : ""} at ${s.started_at}${s.state !== "complete" ? ` (INCOMPLETE: ${s.state})` : ""}`;

/** The short human summary: both sides, the counts, then every test that moved. */
export function comparisonText(c: Comparison): string {
  const lines = [
    `A: ${who(c.a)}: ${c.a.counts}`,
    `B: ${who(c.b)}: ${c.b.counts}`,
    `${c.counts.regressed} regressed, ${c.counts.fixed} fixed, ${c.counts.new} new, ${c.counts.gone} gone, ${c.counts.same} same${c.counts.changed ? `, ${c.counts.changed} changed` : ""}${c.counts.not_compared ? `, ${c.counts.not_compared} not compared (not run)` : ""}`,
  ];
  for (const m of c.regressed) lines.push(`  REGRESSED ${m.name}: ${m.a} -> ${m.b}${m.reason ? ` (${m.reason})` : ""}`);
  for (const m of c.fixed) lines.push(`  FIXED     ${m.name}: ${m.a} -> ${m.b}`);
  for (const m of c.changed) lines.push(`  CHANGED   ${m.name}: ${m.a} -> ${m.b}`);
  for (const t of c.new) lines.push(`  NEW       ${t.name}: ${t.b}`);
  for (const t of c.gone) lines.push(`  GONE      ${t.name}: was ${t.a}`);
  for (const n of c.not_compared) lines.push(`  NOT RUN   ${n}`);
  return `${lines.join("\n")}\n`;
}
