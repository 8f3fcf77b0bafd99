// Result sets on disk: the report step writes a result directory from a run's output
// (the real captures in tests/fixtures/selftests), f/kernel/results lists them latest
// first, and f/kernel/compare finds them by directory, kernel identity or label. A
// temporary Workbench; no guest.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isInputError } from "../../f/common/errors.ts";
import { main as compare } from "../../f/kernel/compare.ts";
import { main as results } from "../../f/kernel/results.ts";
import { main as report, reportRun } from "../../f/kernel/selftests/report.ts";
import { kernelResultsDir, ResultSet, runDirName, type RunFacts } from "../../f/kernel/selftests/results.ts";
import { workbenchLayout } from "../../f/common/layout.ts";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/selftests");
const ALL = ["size:get_size", "sigaltstack:sas", "kdevflow:pass", "kdevflow:regress", "kdevflow:hang", "kdevflow:skip"];
const saved = { ...process.env };
let workbench: string;

const kernel = (identity: string) => ({ identity, kernelrelease: `6.1.192-vanilla-${identity}`, store_key: `kernel-6.1.192-vanilla-${identity}`, label: "vanilla" });

const factsOf = new Map<string, RunFacts>();

/** A run directory as the run step leaves it (output.ktap from a capture), then the report step. */
async function reported(identity: string, at: string, label: string, capture: string): Promise<ResultSet> {
  const started = new Date(at);
  const dir = join(kernelResultsDir(workbenchLayout(), identity), runDirName(started, label));
  await mkdir(dir, { recursive: true });
  await cp(join(FIXTURES, capture), join(dir, "output.ktap"));
  await writeFile(join(dir, "console.log"), "console\n");
  const facts: RunFacts = { label, vm: "st", kernel: kernel(identity), started_at: started.toISOString(), finished_at: started.toISOString(), timeout_s: 5, selected: ALL, state: "complete", note: null, dir, console_log: true };
  factsOf.set(dir, facts);
  await writeFile(join(dir, "run.json"), JSON.stringify(facts));
  return reportRun(facts);
}

beforeAll(async () => {
  workbench = await mkdtemp(join(tmpdir(), "kdevflow-results-"));
  process.env.KDEVFLOW_WORKBENCH = workbench;
  delete process.env.SYSTEM_DIR;
  delete process.env.WORKERS_DIR;
});
afterAll(async () => {
  process.env = saved;
  if (workbench) await rm(workbench, { recursive: true, force: true });
});

describe("result sets under the Workbench", () => {
  let clean: ResultSet;
  let marked: ResultSet;
  let other: ResultSet;

  it("report writes every file of the result directory, result.json matching what it returns", async () => {
    clean = await reported("aaaaaaaaaaaa", "2026-01-02T10:00:00.000Z", "clean", "guest-clean.ktap");
    expect(clean.dir).toBe(join(workbench, "system", "results", "kernel-aaaaaaaaaaaa", "20260102T100000.000Z-clean"));
    expect(JSON.parse(await readFile(join(clean.dir, "result.json"), "utf8"))).toEqual(clean);
    expect((await readdir(clean.dir)).sort()).toEqual(["console.log", "junit.xml", "logs", "output.ktap", "result.json", "run.json", "summary.txt"]);
    expect((await readdir(join(clean.dir, "logs"))).sort()).toEqual(["kdevflow", "sigaltstack", "size"]);
    expect(await readFile(join(clean.dir, "logs", "kdevflow", "hang.log"), "utf8")).toBe("TAP version 13\n1..1\n# hang: waiting forever\n");
    expect(await readFile(join(clean.dir, "summary.txt"), "utf8")).toContain("6 tests, 4 pass, 1 skip, 1 timeout");
    expect(await readFile(join(clean.dir, "junit.xml"), "utf8")).toContain('<testsuites name="kselftest 6.1.192-vanilla-aaaaaaaaaaaa clean" tests="6" failures="1" errors="0" skipped="1"');
  });

  it("report is safe to run again, and as a script re-makes a result directory from its output.ktap and run.json", async () => {
    const before = await readFile(join(clean.dir, "result.json"), "utf8");
    expect(await reportRun(factsOf.get(clean.dir)!)).toEqual(clean);
    await rm(join(clean.dir, "logs"), { recursive: true });
    await rm(join(clean.dir, "junit.xml"));
    expect(await report(clean.dir)).toEqual(clean);
    expect(await readFile(join(clean.dir, "result.json"), "utf8")).toBe(before);
    expect((await readdir(join(clean.dir, "logs"))).sort()).toEqual(["kdevflow", "sigaltstack", "size"]);
    for (const bad of ["relative/dir", join(workbench, "nowhere")]) {
      const e = await report(bad).catch((x: unknown) => x);
      expect(isInputError(e) && (e as { field: string }).field).toBe("dir");
    }
  });

  it("f/kernel/results lists them latest first, every kernel's or one kernel's", async () => {
    marked = await reported("aaaaaaaaaaaa", "2026-01-02T11:00:00.000Z", "marked", "guest-marked.ktap");
    other = await reported("bbbbbbbbbbbb", "2026-01-02T10:30:00.000Z", "", "guest-clean.ktap");
    const all = await results("", 20);
    expect(all.total).toBe(3);
    expect(all.results.map((r) => r.dir)).toEqual([marked.dir, other.dir, clean.dir]);
    expect(all.results[0]).toMatchObject({ identity: "aaaaaaaaaaaa", label: "marked", state: "complete", summary: { fail: 1 } });
    expect((await results("aaaaaaaaaaaa", 20)).results.map((r) => r.label)).toEqual(["marked", "clean"]);
    expect((await results("", 1)).results).toHaveLength(1);
    expect((await results("cccccccccccc", 20)).total).toBe(0);
  });

  it("f/kernel/results refuses a malformed identity or limit in one sentence", async () => {
    for (const [id, limit, field] of [["ABC", 20, "identity"], ["", 0, "limit"]] as const) {
      const e = await results(id, limit).catch((x: unknown) => x);
      expect(isInputError(e)).toBe(true);
      expect((e as { field: string }).field).toBe(field);
    }
  });

  it("f/kernel/compare finds result sets by directory, label or identity: one regression from clean to marked", async () => {
    const byDir = await compare(clean.dir, marked.dir);
    expect(byDir.counts).toEqual({ regressed: 1, fixed: 0, new: 0, gone: 0, same: 5, changed: 0, not_compared: 0 });
    expect(byDir.regressed.map((m) => m.name)).toEqual(["kdevflow:regress"]);
    expect(byDir.text).toContain("REGRESSED kdevflow:regress: pass -> fail (exit 1)");
    expect((await compare("clean", "marked")).counts.regressed).toBe(1);
    // An identity names that kernel's latest run: aaaa's is the marked one.
    const byIdentity = await compare("bbbbbbbbbbbb", "aaaaaaaaaaaa");
    expect(byIdentity.b.label).toBe("marked");
    expect(byIdentity.counts.regressed).toBe(1);
    expect((await compare(join(marked.dir, "result.json"), clean.dir)).counts.fixed).toBe(1);
  });

  it("f/kernel/compare refuses what names no result set, naming the field", async () => {
    for (const [a, b, field] of [["nope", "clean", "a"], ["clean", "/nonexistent/dir", "b"], ["", "clean", "a"]] as const) {
      const e = await compare(a, b).catch((x: unknown) => x);
      expect(isInputError(e), `${a} ${b}`).toBe(true);
      expect((e as { field: string }).field).toBe(field);
    }
  });
});
