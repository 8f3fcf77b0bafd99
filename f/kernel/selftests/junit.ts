// JUnit XML for a result set, the format CI systems (Jenkins, GitLab, GitHub actions)
// read: one <testsuite> per kselftest collection, one <testcase> per test, its log as
// <system-out>. A fail is a <failure>, a timeout a <failure type="timeout">, an error an
// <error>, a skip <skipped>; the counts on each element are the result set's summary,
// so the file and summary.txt always agree. A run cut short says so in the properties.
// Pure.

import type { ResultSet, TestRecord } from "./results.ts";

/** Text as XML 1.0 character data: escaped, and without the characters XML cannot hold. */
export function xmlText(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "")
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

const attrs = (a: Record<string, string | number>) =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlText(String(v))}"`)
    .join("");

const seconds = (t: readonly { duration_s: number | null }[]) => t.reduce((n, x) => n + (x.duration_s ?? 0), 0).toFixed(3);

function counts(tests: readonly TestRecord[]) {
  const n = (s: string) => tests.filter((t) => t.status === s).length;
  return { tests: tests.length, failures: n("fail") + n("timeout"), errors: n("error"), skipped: n("skip"), time: seconds(tests) };
}

function testcase(t: TestRecord, log: string): string {
  const out: string[] = [`    <testcase${attrs({ classname: `kselftest.${t.collection || "_"}`, name: t.test, time: (t.duration_s ?? 0).toFixed(3) })}>`];
  const message = t.reason ?? t.status;
  if (t.status === "fail") out.push(`      <failure${attrs({ type: "fail", message })}/>`);
  else if (t.status === "timeout") out.push(`      <failure${attrs({ type: "timeout", message })}/>`);
  else if (t.status === "error") out.push(`      <error${attrs({ type: "error", message })}/>`);
  else if (t.status === "skip") out.push(`      <skipped${attrs({ message })}/>`);
  if (log) out.push(`      <system-out>${xmlText(log)}</system-out>`);
  out.push("    </testcase>");
  return out.join("\n");
}

/** The JUnit XML of a result set; `logs` maps each test's log path to its text. */
export function renderJunit(r: ResultSet, logs: ReadonlyMap<string, string>): string {
  const collections: string[] = [];
  for (const t of r.tests) if (!collections.includes(t.collection)) collections.push(t.collection);
  const total = counts(r.tests);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: `kselftest ${r.kernel.kernelrelease}${r.label ? ` ${r.label}` : ""}`, ...total })}>`,
  ];
  for (const c of collections) {
    const tests = r.tests.filter((t) => t.collection === c);
    lines.push(`  <testsuite${attrs({ name: c || "_", ...counts(tests), timestamp: r.started_at.replace(/\.\d+Z$|Z$/, ""), hostname: r.vm })}>`);
    lines.push("    <properties>");
    const props: [string, string][] = [
      ["kernelrelease", r.kernel.kernelrelease],
      ["identity", r.kernel.identity],
      ["state", r.state],
      ["timeout_s", String(r.timeout_s)],
    ];
    if (r.note) props.push(["note", r.note]);
    for (const [name, value] of props) lines.push(`      <property${attrs({ name, value })}/>`);
    lines.push("    </properties>");
    for (const t of tests) lines.push(testcase(t, logs.get(t.log) ?? ""));
    lines.push("  </testsuite>");
  }
  lines.push("</testsuites>", "");
  return lines.join("\n");
}
