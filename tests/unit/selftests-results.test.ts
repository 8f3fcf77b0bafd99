// Reading kselftest output and making result sets from it: the KTAP parser (streaming
// and whole), verdicts, subtests, the result set with its summary and log paths, the
// JUnit XML, the human summary, and the A/B compare. Pure.
//
// The captures in tests/fixtures/selftests are real output of the selftests test kernel
// (tests/harness/selftests.ts: size, sigaltstack and the fixture's kdevflow collection)
// under QEMU TCG: guest-clean.ktap and guest-marked.ktap are the guest driver
// (f/kernel/selftests/driver.ts) with a 5 s timeout, without and with the marker file
// that makes kdevflow:regress fail; guest-run_kselftest.ktap is the kernel's own
// run_kselftest.sh in a busybox guest (no perl, so no test output; two collections).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { compareResultSets, comparisonText } from "../../f/kernel/selftests/compare.ts";
import { renderJunit, xmlText } from "../../f/kernel/selftests/junit.ts";
import { KtapRun, parseKtapRun, parseResultLine, verdictOf } from "../../f/kernel/selftests/ktap.ts";
import { buildResultSet, countsText, ResultSet, runDirName, summarize, summaryText, testLogPath, type RunFacts } from "../../f/kernel/selftests/results.ts";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/selftests");
const capture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const CLEAN = capture("guest-clean.ktap");
const MARKED = capture("guest-marked.ktap");
const RUNNER = capture("guest-run_kselftest.ktap");
const ALL = ["size:get_size", "sigaltstack:sas", "kdevflow:pass", "kdevflow:regress", "kdevflow:hang", "kdevflow:skip"];

const facts = (over: Partial<RunFacts> = {}): RunFacts => ({
  label: "",
  vm: "st",
  kernel: { identity: "9f5516df2983", kernelrelease: "6.1.192-vanilla-9f5516df2983", store_key: "kernel-6.1.192-vanilla-9f5516df2983", label: "vanilla" },
  started_at: "2026-01-02T03:04:05.678Z",
  finished_at: "2026-01-02T03:04:20.000Z",
  timeout_s: 5,
  selected: ALL,
  state: "complete",
  note: null,
  dir: "/wb/system/results/kernel-9f5516df2983/20260102T030405.678Z",
  console_log: true,
  ...over,
});

describe("result lines", () => {
  it.each([
    ["ok 1 selftests: size: get_size # exit=0 time=0.09", { ok: true, number: 1, description: "selftests: size: get_size", directive: null, reason: "", diag: { exit: "0", time: "0.09" } }],
    ["not ok 5 selftests: kdevflow: hang # TIMEOUT 5 seconds exit=137 time=5.17", { ok: false, number: 5, directive: "TIMEOUT", reason: "5 seconds", diag: { exit: "137", time: "5.17" } }],
    ["ok 3 # SKIP No huge pages available.", { ok: true, number: 3, description: "", directive: "SKIP", reason: "No huge pages available." }],
    ["ok 6 selftests: kdevflow: skip # SKIP", { directive: "SKIP", reason: "" }],
    ["not ok 2 selftests: kdevflow: regress # exit=1", { ok: false, directive: null, diag: { exit: "1" } }],
    ["ok 7 a \\# b # todo later", { description: "a # b", directive: "TODO", reason: "later" }],
    ["ok", { ok: true, number: null, description: "" }],
    ["not ok 4 - dashed", { number: 4, description: "dashed" }],
  ])("reads %j", (line, want) => {
    expect(parseResultLine(line)).toMatchObject(want);
  });
  it.each([["okay 1"], ["# ok 1 nested"], ["1..3"], ["TAP version 13"], ["nok 1"]])("%j is not a result line", (line) => {
    expect(parseResultLine(line)).toBeNull();
  });
  it.each([
    ["ok 1 t # exit=0", "pass", null],
    ["ok 1 t # SKIP no device", "skip", "no device"],
    ["not ok 1 t # TIMEOUT 45 seconds", "timeout", "cut at its timeout (45 seconds)"],
    ["not ok 1 t # exit=1", "fail", "exit 1"],
    ["not ok 1 t # exit=2", "fail", "exit 2"],
    ["not ok 1 t", "fail", null],
    ["not ok 1 t # exit=127", "error", "the test could not be executed (exit 127)"],
    ["not ok 1 t # exit=139", "error", "killed by signal 11 (SIGSEGV)"],
    ["not ok 1 t # ERROR missing exit=127", "error", "missing"],
  ])("%j is %s", (line, status, reason) => {
    expect(verdictOf(parseResultLine(line)!)).toEqual({ status, reason });
  });
});

describe("a real run of the guest driver", () => {
  const run = parseKtapRun(CLEAN);
  it("has every test with the verdict it printed, in order, and nothing left open", () => {
    expect(run.plan).toBe(6);
    expect(run.tests.map((t) => [t.name, t.status])).toEqual([
      ["size:get_size", "pass"],
      ["sigaltstack:sas", "pass"],
      ["kdevflow:pass", "pass"],
      ["kdevflow:regress", "pass"],
      ["kdevflow:hang", "timeout"],
      ["kdevflow:skip", "skip"],
    ]);
    expect(run.open).toBeNull();
    expect(run.bailout).toBeNull();
    expect(run.other).toEqual([]);
  });
  it("keeps each test's exit status, duration and output without the prefix", () => {
    const [size, sas, , , hang, skip] = run.tests;
    expect(size).toMatchObject({ collection: "size", test: "get_size", number: 1, exit_code: 0, duration_s: 0.04 });
    expect(size!.log[0]).toBe("TAP version 13");
    expect(size!.log).toContain(" ---");
    expect(hang).toMatchObject({ exit_code: 137, duration_s: 5.04, reason: "cut at its timeout (5 seconds)" });
    expect(hang!.log).toEqual(["TAP version 13", "1..1", "# hang: waiting forever"]);
    // A skip's reason is the result line's, else the one its own TAP gave.
    expect(skip).toMatchObject({ exit_code: 4, reason: "kdevflow skip: this kernel has no such feature" });
    expect(sas!.subtests.map((s) => s.status)).toEqual(["pass", "pass", "pass"]);
    expect(sas!.subtests[0]).toEqual({ number: 1, description: "Initial sigaltstack state was SS_DISABLE", status: "pass", reason: null });
    expect(skip!.subtests).toEqual([{ number: 2, description: "", status: "skip", reason: "kdevflow skip: this kernel has no such feature" }]);
  });
  it("reports the failing subtest of a test made to fail, with its log", () => {
    const regress = parseKtapRun(MARKED).tests.find((t) => t.name === "kdevflow:regress")!;
    expect(regress).toMatchObject({ status: "fail", reason: "exit 1", exit_code: 1 });
    expect(regress.subtests.map((s) => [s.description, s.status])).toEqual([["setup", "pass"], ["the marker is absent", "fail"]]);
    expect(regress.log).toContain("# regress: /tmp/kdevflow-selftests-regress exists, so this run is broken on purpose");
  });
  it("streams the same events line by line as the whole parse", () => {
    const stream = new KtapRun();
    const events = CLEAN.split("\n").flatMap((l) => stream.push(l));
    expect(events.filter((e) => e.kind === "start").map((e) => (e as { name: string }).name)).toEqual(ALL);
    expect(events.filter((e) => e.kind === "result").map((e) => (e as { test: { status: string } }).test.status)).toEqual(run.tests.map((t) => t.status));
    expect(events[0]).toEqual({ kind: "plan", total: 6 });
    expect(stream.result().tests).toEqual(run.tests);
  });
  it("reads run_kselftest.sh's own output (no exit status on a pass, no time, two collections)", () => {
    const r = parseKtapRun(RUNNER);
    expect(r.tests.map((t) => [t.name, t.status, t.exit_code, t.duration_s])).toEqual([
      ["kdevflow:pass", "pass", 0, null],
      ["kdevflow:regress", "fail", 1, null],
      ["kdevflow:skip", "skip", 4, null],
      ["size:get_size", "pass", 0, null],
    ]);
    expect(r.tests.map((t) => t.number)).toEqual([1, 2, 3, 4]);
  });
  it("leaves a test open when the output stops inside it (the guest died), with its output so far", () => {
    const cut = CLEAN.slice(0, CLEAN.indexOf("not ok 5"));
    const r = parseKtapRun(cut);
    expect(r.tests.map((t) => t.name)).toEqual(["size:get_size", "sigaltstack:sas", "kdevflow:pass", "kdevflow:regress"]);
    expect(r.open).toMatchObject({ name: "kdevflow:hang", number: 5, log: ["TAP version 13", "1..1", "# hang: waiting forever"] });
  });
  it("does not take a test's own 'selftests:' line for the start of another", () => {
    const r = parseKtapRun("1..2\n# selftests: a: one\n# selftests: b: two\n# ok 1 x\nok 1 selftests: a: one # exit=0\n");
    expect(r.tests).toHaveLength(1);
    expect(r.tests[0]).toMatchObject({ name: "a:one", log: ["selftests: b: two", "ok 1 x"], subtests: [{ description: "x", status: "pass" }] });
  });
  it("reports a missing test file as an error, and a bail out", () => {
    const r = parseKtapRun("1..1\n# selftests: a: gone\n# Warning: file a/gone is missing!\nnot ok 1 selftests: a: gone # ERROR missing exit=127 time=0.00\nBail out! the guest has no timeout\n");
    expect(r.tests[0]).toMatchObject({ status: "error", reason: "the test file is missing", exit_code: 127 });
    const old = parseKtapRun("# selftests: a: gone\n# Warning: file a/gone is missing!\nnot ok 1 selftests: a: gone\n");
    expect(old.tests[0]).toMatchObject({ status: "error", reason: "the test file is missing" });
    expect(r.bailout).toBe("the guest has no timeout");
  });
});

describe("result sets", () => {
  it("names a run's folder by its start time to the millisecond, then the label, so names sort by time", () => {
    expect(runDirName(new Date("2026-01-02T03:04:05.678Z"), "")).toBe("20260102T030405.678Z");
    expect(runDirName(new Date("2026-01-02T03:04:05.678Z"), "baseline")).toBe("20260102T030405.678Z-baseline");
    expect(runDirName(new Date("2026-01-02T03:04:05.009Z"), "") < runDirName(new Date("2026-01-02T03:04:05.010Z"), "")).toBe(true);
  });
  it("keeps each test's log under logs/<collection>/<test>.log, nested collections included, never outside", () => {
    expect(testLogPath("size", "get_size")).toBe("logs/size/get_size.log");
    expect(testLogPath("net/forwarding", "router.sh")).toBe("logs/net/forwarding/router.sh.log");
    expect(testLogPath("..", "../x")).toBe("logs/_/__x.log");
    expect(testLogPath("", "t")).toBe("logs/_/t.log");
  });
  it("counts the summary from the tests, and the selected ones that never ran", () => {
    expect(summarize([{ status: "pass" }, { status: "pass" }, { status: "timeout" }, { status: "skip" }], 2)).toEqual({ total: 6, pass: 2, fail: 0, skip: 1, timeout: 1, error: 0, not_run: 2 });
  });
  it("makes a complete result set whose summary matches what the tests printed", () => {
    const { result, logs } = buildResultSet(parseKtapRun(CLEAN), facts());
    expect(ResultSet.parse(result)).toEqual(result);
    expect(result.state).toBe("complete");
    expect(result.summary).toEqual({ total: 6, pass: 4, fail: 0, skip: 1, timeout: 1, error: 0, not_run: 0 });
    expect(result.tests.map((t) => t.log)).toEqual(logs.map((l) => l.path));
    expect(logs.find((l) => l.path === "logs/kdevflow/hang.log")!.lines).toEqual(["TAP version 13", "1..1", "# hang: waiting forever"]);
    expect(countsText(result.summary)).toBe("4 pass, 1 skip, 1 timeout");
  });
  it("marks a run the guest cut: the open test is an error saying why, the rest not run", () => {
    const cut = parseKtapRun(CLEAN.slice(0, CLEAN.indexOf("not ok 5")));
    const { result, logs } = buildResultSet(cut, facts({ state: "guest-died", note: "QEMU ended during kdevflow:hang" }));
    expect(result.state).toBe("guest-died");
    expect(result.tests.at(-1)).toMatchObject({ name: "kdevflow:hang", status: "error", reason: "the run ended while it ran (guest-died)" });
    expect(logs.at(-1)).toEqual({ path: "logs/kdevflow/hang.log", lines: ["TAP version 13", "1..1", "# hang: waiting forever"] });
    expect(result.not_run).toEqual(["kdevflow:skip"]);
    expect(result.summary).toEqual({ total: 6, pass: 4, fail: 0, skip: 0, timeout: 0, error: 1, not_run: 1 });
    expect(summaryText(result)).toContain("INCOMPLETE (guest-died): QEMU ended during kdevflow:hang; the guest's console log is console.log");
  });
  it("never calls a run complete whose output stopped early", () => {
    const { result } = buildResultSet(parseKtapRun(CLEAN.split("# selftests: kdevflow: skip")[0]!), facts());
    expect(result.state).toBe("interrupted");
    expect(result.not_run).toEqual(["kdevflow:skip"]);
    const bail = buildResultSet(parseKtapRun("Bail out! the guest has no awk\n"), facts({ selected: ["a:b"] })).result;
    expect(bail).toMatchObject({ state: "interrupted", note: "the guest driver bailed out: the guest has no awk", not_run: ["a:b"] });
  });
  it("writes a short human summary naming each test that did not pass or skip, with its log", () => {
    const { result } = buildResultSet(parseKtapRun(MARKED), facts({ label: "marked" }));
    expect(summaryText(result)).toBe(
      [
        "kselftests on st: 6.1.192-vanilla-9f5516df2983 (identity 9f5516df2983), label marked",
        "2026-01-02T03:04:05.678Z: 6 tests, 3 pass, 1 fail, 1 skip, 1 timeout",
        "  FAIL    kdevflow:regress: exit 1 (logs/kdevflow/regress.log)",
        "  TIMEOUT kdevflow:hang: cut at its timeout (5 seconds) (logs/kdevflow/hang.log)",
        "",
      ].join("\n"),
    );
  });
});

describe("JUnit XML", () => {
  const build = (text: string, over: Partial<RunFacts> = {}) => {
    const { result, logs } = buildResultSet(parseKtapRun(text), facts(over));
    return { result, xml: renderJunit(result, new Map(logs.map((l) => [l.path, l.lines.join("\n")]))) };
  };
  const attr = (xml: string, tag: string, name: string) => [...xml.matchAll(new RegExp(`<${tag}\\b[^>]*\\b${name}="([^"]*)"`, "g"))].map((m) => m[1]);
  it("has the summary's counts on the whole and per collection, one testcase per test", () => {
    const { result, xml } = build(MARKED);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(attr(xml, "testsuites", "tests")).toEqual([String(result.summary.total)]);
    expect(attr(xml, "testsuites", "failures")).toEqual([String(result.summary.fail + result.summary.timeout)]);
    expect(attr(xml, "testsuites", "errors")).toEqual(["0"]);
    expect(attr(xml, "testsuites", "skipped")).toEqual(["1"]);
    expect(attr(xml, "testsuite", "name")).toEqual(["size", "sigaltstack", "kdevflow"]);
    expect(attr(xml, "testsuite", "tests")).toEqual(["1", "1", "4"]);
    expect(attr(xml, "testcase", "name")).toEqual(["get_size", "sas", "pass", "regress", "hang", "skip"]);
    expect(attr(xml, "testcase", "classname")).toEqual(["kselftest.size", "kselftest.sigaltstack", "kselftest.kdevflow", "kselftest.kdevflow", "kselftest.kdevflow", "kselftest.kdevflow"]);
    expect(xml).toContain('<failure type="fail" message="exit 1"/>');
    expect(xml).toContain('<failure type="timeout" message="cut at its timeout (5 seconds)"/>');
    expect(xml).toContain('<skipped message="kdevflow skip: this kernel has no such feature"/>');
    expect(xml).toContain("# regress: /tmp/kdevflow-selftests-regress exists, so this run is broken on purpose");
    expect(xml.match(/<testcase /g)).toHaveLength(6);
  });
  it("says when the run was cut, and counts the cut test as an error", () => {
    const { xml } = build(CLEAN.slice(0, CLEAN.indexOf("not ok 5")), { state: "guest-died", note: "QEMU ended" });
    expect(xml).toContain('<property name="state" value="guest-died"/>');
    expect(xml).toContain('<error type="error" message="the run ended while it ran (guest-died)"/>');
    expect(attr(xml, "testsuites", "errors")).toEqual(["1"]);
  });
  it("escapes markup and drops what XML 1.0 cannot hold", () => {
    expect(xmlText('a<b>&"c"\u0000\u001b[0m\uD800')).toBe("a&lt;b&gt;&amp;&quot;c&quot;[0m");
    const { xml } = build('1..1\n# selftests: a: x\n# <tag attr="1"> & \u0007bell\nok 1 selftests: a: x # exit=0\n', { selected: ["a:x"] });
    expect(xml).toContain("&lt;tag attr=&quot;1&quot;&gt; &amp; bell");
  });
});

describe("comparing two result sets", () => {
  const clean = buildResultSet(parseKtapRun(CLEAN), facts({ label: "clean" })).result;
  const marked = buildResultSet(parseKtapRun(MARKED), facts({ label: "marked", started_at: "2026-01-02T04:00:00.000Z" })).result;
  it("reports exactly one regression between a run and the same run with the test made to fail", () => {
    const c = compareResultSets(clean, marked);
    expect(c.counts).toEqual({ regressed: 1, fixed: 0, new: 0, gone: 0, same: 5, changed: 0, not_compared: 0 });
    expect(c.regressed).toEqual([{ name: "kdevflow:regress", a: "pass", b: "fail", reason: "exit 1" }]);
    expect(comparisonText(c).split("\n").slice(2, 4)).toEqual(["1 regressed, 0 fixed, 0 new, 0 gone, 5 same", "  REGRESSED kdevflow:regress: pass -> fail (exit 1)"]);
  });
  it("reports the way back as one fix", () => {
    const c = compareResultSets(marked, clean);
    expect(c.counts.fixed).toBe(1);
    expect(c.fixed[0]).toMatchObject({ name: "kdevflow:regress", a: "fail", b: "pass" });
  });
  it("reports tests only on one side as new or gone, other moves as changed, and never-run ones apart", () => {
    const t = (name: string, status: string) => `# selftests: ${name.replace(":", ": ")}\n${status === "pass" ? "ok" : "not ok"} 1 selftests: ${name.replace(":", ": ")}${status === "skip" ? " # SKIP" : status === "timeout" ? " # TIMEOUT 5 seconds" : status === "fail" ? " # exit=1" : ""}\n`;
    const a = buildResultSet(parseKtapRun(t("c:old", "pass") + t("c:p2s", "pass") + t("c:f2t", "fail") + t("c:s2f", "skip")), facts({ selected: ["c:old", "c:p2s", "c:f2t", "c:s2f"] })).result;
    const bOut = parseKtapRun(t("c:p2s", "skip") + t("c:f2t", "timeout") + t("c:s2f", "fail") + t("c:new", "pass"));
    const b = buildResultSet(bOut, facts({ selected: ["c:p2s", "c:f2t", "c:s2f", "c:new", "c:later"], state: "guest-hung", note: "no answer" })).result;
    const c = compareResultSets(a, b);
    expect(c.new).toEqual([{ name: "c:new", b: "pass" }]);
    expect(c.gone).toEqual([{ name: "c:old", a: "pass" }]);
    expect(c.regressed.map((m) => m.name)).toEqual(["c:s2f"]);
    expect(c.changed.map((m) => [m.name, m.a, m.b])).toEqual([["c:p2s", "pass", "skip"], ["c:f2t", "fail", "timeout"]]);
    expect(c.not_compared).toEqual(["c:later"]);
    expect(comparisonText(c)).toContain("(INCOMPLETE: guest-hung)");
  });
});
