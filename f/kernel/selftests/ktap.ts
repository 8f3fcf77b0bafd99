// Reading kselftest output: the KTAP/TAP that run_kselftest.sh prints, and that the
// guest driver (driver.ts) prints the same way, one line at a time as it arrives. Pure.
//
// The run's top level is a plan and one result line per test:
//
//   TAP version 13
//   1..3
//   # selftests: size: get_size           <- a test starts
//   # TAP version 13                      <- its own output, each line prefixed "# "
//   # ok 1 get runtime memory use
//   ok 1 selftests: size: get_size # exit=0 time=0.12
//   # selftests: kdevflow: hang
//   # # hang: waiting forever
//   not ok 2 selftests: kdevflow: hang # TIMEOUT 5 seconds exit=137 time=5.01
//
// A header opens a test and only its result line closes it, so while a test is open
// every "# " line is its output (a test that prints "selftests: a: b" cannot start
// another). The verdict is the result line's: `ok` passes, `# SKIP` skips, `# TIMEOUT`
// timed out; `not ok` fails, or is an error when the test could not run or did not end
// by itself (`# ERROR`, exit 126 or 127, killed by a signal). `exit=` and `time=` are the
// driver's diagnostics (run_kselftest.sh prints `exit=` on failures only, and no time).

export const STATUSES = ["pass", "fail", "skip", "timeout", "error"] as const;
export type TestStatus = (typeof STATUSES)[number];

/** A TAP/KTAP result line: `ok 1 desc # SKIP why key=value`. */
export interface ResultLine {
  ok: boolean;
  number: number | null;
  description: string;
  /** SKIP, TODO, XFAIL, TIMEOUT or ERROR (upper case), or null. */
  directive: string | null;
  /** What follows the directive (`5 seconds`, the skip reason), without key=value diagnostics. */
  reason: string;
  /** key=value diagnostics after the `#` (exit, time). */
  diag: Record<string, string>;
}

const RESULT = /^(not ok|ok)(?:\s+(\d+))?(?:\s+-)?(?:\s+(.*))?$/;
const DIRECTIVE = /^(SKIP|TODO|XFAIL|TIMEOUT|ERROR)\b\s*(.*)$/i;

/** Parse one result line (no leading "# "), or null when the line is not one. */
export function parseResultLine(line: string): ResultLine | null {
  const m = RESULT.exec(line.trimEnd());
  if (!m) return null;
  const rest = m[3] ?? "";
  // The description ends at the first '#' that is not escaped (`\#`).
  const hash = /(^|[^\\])#/.exec(rest);
  const cut = hash ? hash.index + hash[1]!.length : -1;
  const description = (cut >= 0 ? rest.slice(0, cut) : rest).trim().replace(/\\#/g, "#");
  let after = cut >= 0 ? rest.slice(cut + 1).trim() : "";
  let directive: string | null = null;
  const d = DIRECTIVE.exec(after);
  if (d) {
    directive = d[1]!.toUpperCase();
    after = d[2]!;
  }
  const diag: Record<string, string> = {};
  const words: string[] = [];
  for (const w of after.split(/\s+/).filter(Boolean)) {
    const kv = /^([a-z_]+)=(\S*)$/.exec(w);
    if (kv) diag[kv[1]!] = kv[2]!;
    else words.push(w);
  }
  return { ok: m[1] === "ok", number: m[2] ? Number(m[2]) : null, description, directive, reason: words.join(" "), diag };
}

/** A signal name for an exit status above 128, for messages. */
const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM" };

/** The verdict of a test from its result line, and why when it is not a pass. */
export function verdictOf(r: ResultLine): { status: TestStatus; reason: string | null } {
  const exit = r.diag.exit !== undefined && /^\d+$/.test(r.diag.exit) ? Number(r.diag.exit) : null;
  if (r.directive === "SKIP") return { status: "skip", reason: r.reason || null };
  if (r.directive === "TIMEOUT") return { status: "timeout", reason: `cut at its timeout${r.reason ? ` (${r.reason})` : ""}` };
  if (r.ok) return { status: "pass", reason: null };
  if (r.directive === "ERROR") return { status: "error", reason: r.reason || "the test could not run" };
  if (exit === 126 || exit === 127) return { status: "error", reason: `the test could not be executed (exit ${exit})` };
  if (exit !== null && exit > 128) return { status: "error", reason: `killed by signal ${exit - 128}${SIGNALS[exit - 128] ? ` (${SIGNALS[exit - 128]})` : ""}` };
  return { status: "fail", reason: exit !== null ? `exit ${exit}` : r.reason || null };
}

/** One result of a test's own TAP (its subtests), read from its output. */
export interface Subtest {
  number: number | null;
  description: string;
  status: "pass" | "fail" | "skip";
  reason: string | null;
}

/** The subtests a test reported: the result lines at the top level of its own output. */
export function parseSubtests(log: readonly string[]): Subtest[] {
  const out: Subtest[] = [];
  for (const line of log) {
    const r = parseResultLine(line);
    if (!r) continue;
    const status = r.directive === "SKIP" ? "skip" : r.ok ? "pass" : "fail";
    out.push({ number: r.number, description: r.description, status, reason: r.reason || null });
  }
  return out;
}

export interface ParsedTest {
  /** `collection:test`, as kselftest-list.txt and run_kselftest.sh -t name it. */
  name: string;
  collection: string;
  test: string;
  /** Its number in the run (1-based). */
  number: number;
  status: TestStatus;
  reason: string | null;
  exit_code: number | null;
  duration_s: number | null;
  /** What the test printed (the "# " prefix removed). */
  log: string[];
  subtests: Subtest[];
}

export type KtapEvent =
  | { kind: "plan"; total: number }
  | { kind: "start"; name: string; number: number }
  | { kind: "result"; test: ParsedTest }
  | { kind: "bailout"; reason: string };

export interface ParsedRun {
  plan: number | null;
  tests: ParsedTest[];
  /** A test that started and never got its result line (the run was cut), with its output so far. */
  open: { name: string; collection: string; test: string; number: number; log: string[] } | null;
  bailout: string | null;
  /** Top-level lines that are none of the above (kept for the record). */
  other: string[];
}

const HEADER = /^# selftests: (.+?): (.+)$/;

function splitName(collection: string, test: string) {
  return { name: `${collection}:${test}`, collection, test };
}

/**
 * A streaming reader of a run's output: push() each line as it arrives and get what it
 * completed (a plan, a test starting, a test's verdict); result() gives the run so far.
 */
export class KtapRun {
  private readonly state: ParsedRun = { plan: null, tests: [], open: null, bailout: null, other: [] };

  push(rawLine: string): KtapEvent[] {
    const line = rawLine.replace(/\r$/, "");
    const s = this.state;
    if (s.open) {
      const r = line.startsWith("#") ? null : parseResultLine(line);
      if (!r) {
        // Output of the open test: "# text" (or a bare "#" for an empty line).
        if (line === "#" || line.startsWith("# ")) s.open.log.push(line === "#" ? "" : line.slice(2));
        else if (line.trim() !== "") s.open.log.push(line);
        return [];
      }
      return [{ kind: "result", test: this.close(r) }];
    }
    const h = HEADER.exec(line);
    if (h) {
      s.open = { ...splitName(h[1]!, h[2]!.trim()), number: s.tests.length + 1, log: [] };
      return [{ kind: "start", name: s.open.name, number: s.open.number }];
    }
    const plan = /^1\.\.(\d+)/.exec(line);
    if (plan && s.plan === null) {
      s.plan = Number(plan[1]);
      return [{ kind: "plan", total: s.plan }];
    }
    const bail = /^Bail out!\s*(.*)$/.exec(line);
    if (bail) {
      s.bailout = bail[1] || "bail out";
      return [{ kind: "bailout", reason: s.bailout }];
    }
    const r = parseResultLine(line);
    if (r) {
      // A result without a header (run_kselftest.sh prints none for a missing file's
      // collection entry): name it from its description.
      const m = /^selftests: (.+?): (.+)$/.exec(r.description);
      const n = m ? splitName(m[1]!, m[2]!.trim()) : splitName("", r.description || `test ${s.tests.length + 1}`);
      s.open = { ...n, number: s.tests.length + 1, log: [] };
      return [{ kind: "result", test: this.close(r) }];
    }
    if (line.trim() !== "" && !/^(K?TAP version \d+)$/.test(line.trim())) s.other.push(line);
    return [];
  }

  private close(r: ResultLine): ParsedTest {
    const open = this.state.open!;
    this.state.open = null;
    const v = verdictOf(r);
    const exit = r.diag.exit !== undefined && /^\d+$/.test(r.diag.exit) ? Number(r.diag.exit) : r.ok && !r.directive ? 0 : r.directive === "SKIP" ? 4 : null;
    const time = r.diag.time !== undefined && /^\d+(\.\d+)?$/.test(r.diag.time) ? Number(r.diag.time) : null;
    // "# Warning: file X is missing!" is how run_kselftest.sh says a test could not run.
    const missing = !r.ok && open.log.some((l) => /^Warning: file .* is missing!$/.test(l));
    const subtests = parseSubtests(open.log);
    // A skip says why in its result line (run_kselftest.sh prints none), else in its own TAP.
    const reason = v.status === "skip" && !v.reason ? (subtests.find((t) => t.status === "skip" && t.reason)?.reason ?? null) : v.reason;
    const test: ParsedTest = {
      name: open.name,
      collection: open.collection,
      test: open.test,
      number: open.number,
      status: missing ? "error" : v.status,
      reason: missing ? "the test file is missing" : reason,
      exit_code: exit,
      duration_s: time,
      log: open.log,
      subtests,
    };
    this.state.tests.push(test);
    return test;
  }

  result(): ParsedRun {
    const s = this.state;
    return { ...s, tests: [...s.tests], open: s.open ? { ...s.open, log: [...s.open.log] } : null, other: [...s.other] };
  }
}

/** Parse a whole run's output at once. */
export function parseKtapRun(text: string): ParsedRun {
  const run = new KtapRun();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  for (const line of lines) run.push(line);
  return run.result();
}
