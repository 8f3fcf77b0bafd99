// A kselftest result set: what one run of f/kernel/selftests leaves under the Workbench,
// and the rules that make it from a parsed run. The layout, the result.json schema (zod,
// shared by the run flow, f/kernel/results and the compare), the summary counts, where
// each test's log goes, and the short human summary. Pure except `listResultSets` and
// `loadResultSet`, which read result.json files.
//
//   SYSTEM_DIR/results/kernel-<identity>/<YYYYMMDDTHHMMSS.mmmZ>[-<label>]/
//     result.json    this schema
//     summary.txt    the short human summary
//     junit.xml      for CI systems (junit.ts)
//     output.ktap    the run's output as it arrived
//     run.json       what the run step knew (how the run ended), for report
//     logs/<collection>/<test>.log
//     console.log    the guest's serial console during the run
//
// Results live under SYSTEM_DIR, not in a worktree or the Store: a rebuild rewrites the
// worktree and a kernel's Store entry never changes, so nothing a build does touches them.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { WorkbenchLayout } from "../../common/layout.ts";
import { renderJunit } from "./junit.ts";
import { STATUSES, type ParsedRun, type ParsedTest, type TestStatus } from "./ktap.ts";

export const RESULT_FILE = "result.json";
export const SUMMARY_FILE = "summary.txt";
export const JUNIT_FILE = "junit.xml";
export const KTAP_FILE = "output.ktap";
export const CONSOLE_FILE = "console.log";
/** What the run step knew (RunFacts), kept so report can re-make the result set. */
export const RUN_FILE = "run.json";
export const LOGS_DIR = "logs";

/** How a run ended: every test ran; the guest died (QEMU ended) or hung (paused, or no answer) first; or the session ended early while the guest still answered (interrupted). */
export const RUN_STATES = ["complete", "guest-died", "guest-hung", "interrupted"] as const;
export type RunState = (typeof RUN_STATES)[number];

export const Subtest = z.object({
  number: z.number().int().nullable(),
  description: z.string(),
  status: z.enum(["pass", "fail", "skip"]),
  reason: z.string().nullable(),
});

export const TestRecord = z.object({
  name: z.string().min(1),
  collection: z.string(),
  test: z.string().min(1),
  number: z.number().int().min(1),
  status: z.enum(STATUSES),
  reason: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  duration_s: z.number().nullable(),
  /** The test's log, relative to the result directory. */
  log: z.string(),
  subtests: z.array(Subtest),
});
export type TestRecord = z.infer<typeof TestRecord>;

export const Summary = z.object({
  total: z.number().int(),
  pass: z.number().int(),
  fail: z.number().int(),
  skip: z.number().int(),
  timeout: z.number().int(),
  error: z.number().int(),
  /** Selected tests the run never reached (the guest died or hung first). */
  not_run: z.number().int(),
});
export type Summary = z.infer<typeof Summary>;

export const KernelRef = z.object({
  identity: z.string().regex(/^[0-9a-f]{12}$/),
  kernelrelease: z.string(),
  store_key: z.string(),
  label: z.string(),
});
export type KernelRef = z.infer<typeof KernelRef>;

/** What a run is about and how it ended: in the run step's result and in result.json. */
const RunContext = {
  /** The result label given to the run ("" for none). */
  label: z.string(),
  vm: z.string(),
  kernel: KernelRef,
  started_at: z.string(),
  finished_at: z.string(),
  timeout_s: z.number(),
  /** The tests selected, in run order. */
  selected: z.array(z.string()),
  state: z.enum(RUN_STATES),
  /** Why the run ended early, or null. */
  note: z.string().nullable(),
  /** The result directory (absolute). */
  dir: z.string().regex(/^\//),
};

export const ResultSet = z.object({
  kind: z.literal("kselftest-results"),
  format: z.literal(1),
  ...RunContext,
  summary: Summary,
  tests: z.array(TestRecord),
  not_run: z.array(z.string()),
  /** The result directory's files, relative to it. */
  files: z.object({ ktap: z.string(), junit: z.string(), summary: z.string(), console_log: z.string().nullable() }),
});
export type ResultSet = z.infer<typeof ResultSet>;

/** SYSTEM_DIR/results: every kernel's result sets. */
export const resultsRoot = (layout: WorkbenchLayout) => join(layout.systemDir, "results");
/** The folder of one kernel's result sets, by its build identity. */
export const kernelResultsDir = (layout: WorkbenchLayout, identity: string) => join(resultsRoot(layout), `kernel-${identity}`);

/** A run's folder name: its start time (UTC, to the millisecond, so names sort by time), then the label. */
export function runDirName(startedAt: Date, label: string): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, "");
  return label ? `${stamp}-${label}` : stamp;
}

/** A test's log file, relative to the result directory: logs/<collection>/<test>.log. */
export function testLogPath(collection: string, test: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._+/-]/g, "_").replace(/(^|\/)\.+(?=\/|$)/g, "$1_");
  return join(LOGS_DIR, safe(collection || "_"), `${safe(test).replace(/\//g, "_")}.log`);
}

/** The counts of a run: one per status, how many were selected and how many never ran. */
export function summarize(tests: readonly { status: TestStatus }[], notRun: number): Summary {
  const s: Summary = { total: tests.length + notRun, pass: 0, fail: 0, skip: 0, timeout: 0, error: 0, not_run: notRun };
  for (const t of tests) s[t.status]++;
  return s;
}

/** What the run step knows that the output does not say: the run's context, how it ended, and whether the console log was kept. */
export const RunFacts = z.object({ ...RunContext, console_log: z.boolean() });
export type RunFacts = z.infer<typeof RunFacts>;

const record = (t: ParsedTest): TestRecord => ({
  name: t.name,
  collection: t.collection,
  test: t.test,
  number: t.number,
  status: t.status,
  reason: t.reason,
  exit_code: t.exit_code,
  duration_s: t.duration_s,
  log: testLogPath(t.collection, t.test),
  subtests: t.subtests,
});

/**
 * The result set of a run from its parsed output and what the host knows. A test that
 * started and never got its verdict (the run was cut) is an error saying why; selected
 * tests after it are not_run. A cut run is never "complete".
 */
export function buildResultSet(parsed: ParsedRun, facts: RunFacts): { result: ResultSet; logs: { path: string; lines: string[] }[] } {
  const tests = parsed.tests.map(record);
  const logs = parsed.tests.map((t) => ({ path: testLogPath(t.collection, t.test), lines: t.log }));
  let state = facts.state;
  let note = facts.note;
  if (parsed.bailout && state === "complete") {
    state = "interrupted";
    note = `the guest driver bailed out: ${parsed.bailout}`;
  }
  if (parsed.open) {
    const o = parsed.open;
    const why = state === "complete" ? "the run's output ended before its result" : `the run ended while it ran (${state})`;
    tests.push({ name: o.name, collection: o.collection, test: o.test, number: o.number, status: "error", reason: why, exit_code: null, duration_s: null, log: testLogPath(o.collection, o.test), subtests: [] });
    logs.push({ path: testLogPath(o.collection, o.test), lines: o.log });
  }
  const ran = new Set(tests.map((t) => t.name));
  const notRun = facts.selected.filter((n) => !ran.has(n));
  if (state === "complete" && notRun.length > 0) {
    state = "interrupted";
    note ??= `the output ended after ${tests.length} of ${facts.selected.length} tests`;
  }
  const result: ResultSet = {
    kind: "kselftest-results",
    format: 1,
    label: facts.label,
    vm: facts.vm,
    kernel: facts.kernel,
    started_at: facts.started_at,
    finished_at: facts.finished_at,
    timeout_s: facts.timeout_s,
    selected: [...facts.selected],
    state,
    note,
    summary: summarize(tests, notRun.length),
    tests,
    not_run: notRun,
    dir: facts.dir,
    files: { ktap: KTAP_FILE, junit: JUNIT_FILE, summary: SUMMARY_FILE, console_log: facts.console_log ? CONSOLE_FILE : null },
  };
  return { result, logs };
}

/** "5 pass, 1 fail, 1 timeout" (the counts that are not zero; "no tests" when none). */
export function countsText(s: Summary): string {
  const parts = (["pass", "fail", "skip", "timeout", "error", "not_run"] as const).filter((k) => s[k] > 0).map((k) => `${s[k]} ${k === "not_run" ? "not run" : k}`);
  return parts.length ? parts.join(", ") : "no tests";
}

/** The short human summary: the kernel, how the run ended, the counts, and each test that did not pass or skip. */
export function summaryText(r: ResultSet): string {
  const lines = [
    `kselftests on ${r.vm}: ${r.kernel.kernelrelease} (identity ${r.kernel.identity})${r.label ? `, label ${r.label}` : ""}`,
    `${r.started_at}: ${r.summary.total} tests, ${countsText(r.summary)}`,
  ];
  if (r.state !== "complete") lines.push(`INCOMPLETE (${r.state}): ${r.note ?? "the run ended early"}; the guest's console log is ${r.files.console_log ?? "not kept"}`);
  for (const t of r.tests) if (t.status !== "pass" && t.status !== "skip") lines.push(`  ${t.status.toUpperCase().padEnd(7)} ${t.name}${t.reason ? `: ${t.reason}` : ""} (${t.log})`);
  for (const n of r.not_run) lines.push(`  NOT RUN ${n}`);
  return `${lines.join("\n")}\n`;
}

/** Every file of a result directory, relative to it: each test's log, junit.xml, summary.txt and result.json (last). Pure. */
export function resultFiles(result: ResultSet, logs: readonly { path: string; lines: string[] }[]): { path: string; content: string }[] {
  const texts = new Map(logs.map((l) => [l.path, l.lines.length ? `${l.lines.join("\n")}\n` : ""]));
  return [
    ...[...texts].map(([path, content]) => ({ path, content })),
    { path: JUNIT_FILE, content: renderJunit(result, texts) },
    { path: SUMMARY_FILE, content: summaryText(result) },
    { path: RESULT_FILE, content: `${JSON.stringify(result, null, 2)}\n` },
  ];
}

/** Read and validate one result.json (a result directory or the file itself). */
export async function loadResultSet(path: string): Promise<ResultSet> {
  const file = path.endsWith(".json") ? path : join(path, RESULT_FILE);
  return ResultSet.parse(JSON.parse(await readFile(file, "utf8")));
}

/** Every result set under SYSTEM_DIR/results (optionally one kernel's), latest first. Unreadable ones are skipped. */
export async function listResultSets(layout: WorkbenchLayout, identity: string | null = null): Promise<ResultSet[]> {
  const root = resultsRoot(layout);
  const kernels = identity ? [`kernel-${identity}`] : (await readdir(root).catch(() => [] as string[])).filter((d) => d.startsWith("kernel-"));
  const out: ResultSet[] = [];
  for (const k of kernels) {
    for (const run of await readdir(join(root, k)).catch(() => [] as string[])) {
      const r = await loadResultSet(join(root, k, run)).catch(() => null);
      if (r) out.push(r);
    }
  }
  return out.sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : b.dir.localeCompare(a.dir)));
}
