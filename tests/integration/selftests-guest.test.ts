// f/kernel/selftests on a real guest: the selftests test kernel (size, sigaltstack and
// kdevflow's own collection, tests/harness/selftests.ts) booted under QEMU TCG by
// f/qsu with the test library's closure (a real sshd, the managed key), the tests run
// over SSH through the flow engine, the result files read back: the summary and JUnit
// match what the tests printed, the test made to fail is failed with its log, the test
// that hangs is cut at its timeout and the run goes on, the compare of a run with and
// without the failure is exactly one regression, a guest that hangs or dies ends the run
// with what came, and bad input touches no guest.

import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ClosureResult, type KernelManifest } from "../../f/common/manifest.ts";
import { main as compare } from "../../f/kernel/compare.ts";
import { ResultSet } from "../../f/kernel/selftests/results.ts";
import { DEFAULT_READY_MARKER } from "../../f/qsu/boot/inputs.ts";
import { applyBoot, destroyGuest, prepareBoot, waitBoot, type BootResult } from "../../f/qsu/lib/guest.ts";
import { qmpCommand } from "../../f/qsu/lib/qmp.ts";
import { testFlakes } from "../harness/flakes.ts";
import { runFlowCli } from "../harness/kernel.ts";
import { freePort } from "../harness/net.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { REGRESS_MARKER, selftestsKernel, selftestsWorkbench, waitForSsh } from "../harness/selftests.ts";
import { suiteSetup } from "../harness/suite.ts";
import { startUserManager, type UserManager } from "../harness/systemd.ts";
import { HOST_QEMU } from "../unit/qsu-fixtures.ts";

const VM = "st";
const TIMEOUT_S = 5;
const ALL = ["size:get_size", "sigaltstack:sas", "kdevflow:pass", "kdevflow:regress", "kdevflow:hang", "kdevflow:skip"];

let mgr: UserManager;
let wb: string;
let env: Record<string, string>;
let kernel: KernelManifest;
let booted: BootResult;

const ready = suiteSetup(async () => {
  const nixEnv = await setupNixEnv();
  kernel = await selftestsKernel();
  mgr = await startUserManager();
  wb = await mkdtemp(join(tmpdir(), "kdevflow-selftests-wb-"));
  env = { ...mgr.env, ...nixEnv, KDEVFLOW_WORKBENCH: wb, SYSTEM_DIR: join(wb, "system"), WORKERS_DIR: join(wb, "workers"), WORKER_INDEX: "0" };
  // This Workbench knows the kernel by its Store key: the published entry, as the build wrote it.
  const index = join(wb, "system", "store-index");
  await mkdir(index, { recursive: true });
  await cp(join(selftestsWorkbench(), "system", "store-index", `${kernel.store_key}.json`), join(index, `${kernel.store_key}.json`));
  const res = await runFlowCli("f/nix/build", { vm: VM, nixos_flake: (await testFlakes()).library }, env);
  if (res.exitCode !== 0) throw new Error(`f/nix/build failed:\n${res.stderr.split("\n").slice(-30).join("\n")}`);
  const closure = ClosureResult.parse(res.result);
  const input = { vm: VM, kernel, qemu: HOST_QEMU, closure, ssh_port: await freePort(), ready_marker: DEFAULT_READY_MARKER, ready_ssh: false, kernel_params: [], memory_mb: 256, timeout_s: 300 };
  const prepared = await prepareBoot(input, env);
  await applyBoot(prepared, env);
  booted = await waitBoot(prepared, env);
  console.log(`SSH login after ${await waitForSsh(booted.login!.ssh_config, VM)} s`);
  return booted;
});

afterAll(async () => {
  if (wb) await destroyGuest(VM, env).catch(() => undefined);
  await mgr?.stop();
  if (wb) await rm(wb, { recursive: true, force: true });
});

/** Run a command line in the guest's shell as root, through the ssh_config entry boot wrote. */
function inGuest(command: string): string {
  return execFileSync("ssh", ["-F", booted.login!.ssh_config, "-o", "BatchMode=yes", VM, "--", command], { encoding: "utf8" }).trim();
}

async function selftests(inputs: Record<string, unknown>) {
  return runFlowCli("f/kernel/selftests", { vm: VM, kernel, timeout_s: TIMEOUT_S, ...inputs }, env);
}

/** The counts and verdicts a real XML parser reads from junit.xml (python3's ElementTree). */
function readJunit(file: string): { totals: Record<string, string>; cases: [string, string, string][] } {
  const script = [
    "import json, sys, xml.etree.ElementTree as ET",
    "root = ET.parse(sys.argv[1]).getroot()",
    "cases = []",
    "for c in root.iter('testcase'):",
    "    kind = next((k.tag for k in c if k.tag in ('failure', 'error', 'skipped')), 'passed')",
    "    cases.append([c.get('classname'), c.get('name'), kind])",
    "print(json.dumps({'totals': {k: root.get(k) for k in ('tests', 'failures', 'errors', 'skipped')}, 'cases': cases}))",
  ].join("\n");
  return JSON.parse(execFileSync("python3", ["-c", script, file], { encoding: "utf8" }));
}

const LONG = 20 * 60_000;

describe("f/kernel/selftests on a real guest", () => {
  let clean: ResultSet;
  let marked: ResultSet;

  it("runs every installed test over SSH, one at a time, streaming each verdict with progress in percent", { timeout: LONG }, async () => {
    await ready();
    expect(inGuest("uname -r")).toBe(kernel.kernelrelease);
    inGuest(`rm -f ${REGRESS_MARKER}`);
    const res = await selftests({ kernel: kernel.store_key, label: "clean" });
    expect(res.exitCode, res.stderr.slice(-3000)).toBe(0);
    clean = ResultSet.parse(res.result);
    expect(clean.state).toBe("complete");
    expect(clean.selected).toEqual(ALL);
    // Each verdict as it arrived, in order, with the progress after it.
    const verdicts = [...res.stderr.matchAll(/^\s*\[(\d)\/6\] (PASS|FAIL|SKIP|TIMEOUT|ERROR) (\S+)/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    expect(verdicts).toEqual(["1 PASS size:get_size", "2 PASS sigaltstack:sas", "3 PASS kdevflow:pass", "4 PASS kdevflow:regress", "5 TIMEOUT kdevflow:hang", "6 SKIP kdevflow:skip"]);
    expect(res.stderr).toMatch(/\[progress\s+50%\] 3\/6 tests/);
  });

  it("ran the install from the kernel's store path, which the guest sees read-only over its /nix/store share", async () => {
    await ready();
    const dir = kernel.selftests!.install_dir;
    expect(inGuest(`test -x ${dir}/kdevflow/pass && echo there`)).toBe("there");
    // The top /nix/store mount is read-only, and a write there is refused (a directory made
    // in spite of it would be removed at once).
    expect(inGuest("awk '$2 == \"/nix/store\" { o = $4 } END { print o }' /proc/mounts").split(",")).toContain("ro");
    expect(inGuest("mkdir /nix/store/.kdevflow-write-probe 2>/dev/null && rmdir /nix/store/.kdevflow-write-probe && echo written || echo refused")).toBe("refused");
  });

  it("its summary and JUnit file match what the tests printed", { timeout: LONG }, async () => {
    await ready();
    expect(clean.summary).toEqual({ total: 6, pass: 4, fail: 0, skip: 1, timeout: 1, error: 0, not_run: 0 });
    const by = (n: string) => clean.tests.find((t) => t.name === n)!;
    expect(by("kdevflow:pass").subtests.map((s) => [s.description, s.status])).toEqual([["first check", "pass"], ["second check", "pass"]]);
    expect(by("sigaltstack:sas").subtests).toHaveLength(3);
    expect(by("kdevflow:skip").reason).toBe("kdevflow skip: this kernel has no such feature");
    expect(await readFile(join(clean.dir, by("size:get_size").log), "utf8")).toContain("ok 1 get runtime memory use");
    const junit = readJunit(join(clean.dir, "junit.xml"));
    expect(junit.totals).toEqual({ tests: "6", failures: "1", errors: "0", skipped: "1" });
    expect(junit.cases).toEqual([
      ["kselftest.size", "get_size", "passed"],
      ["kselftest.sigaltstack", "sas", "passed"],
      ["kselftest.kdevflow", "pass", "passed"],
      ["kselftest.kdevflow", "regress", "passed"],
      ["kselftest.kdevflow", "hang", "failure"],
      ["kselftest.kdevflow", "skip", "skipped"],
    ]);
    expect(await readFile(join(clean.dir, "summary.txt"), "utf8")).toContain("6 tests, 4 pass, 1 skip, 1 timeout");
    expect(JSON.parse(await readFile(join(clean.dir, "result.json"), "utf8"))).toEqual(clean);
    expect(await readFile(join(clean.dir, "console.log"), "utf8")).not.toBe("");
  });

  it("a test that hangs is cut at its timeout and the run goes on", async () => {
    await ready();
    const hang = clean.tests.find((t) => t.name === "kdevflow:hang")!;
    expect(hang).toMatchObject({ status: "timeout", exit_code: 137 });
    expect(hang.duration_s!).toBeGreaterThanOrEqual(TIMEOUT_S);
    expect(hang.duration_s!).toBeLessThan(TIMEOUT_S + 10);
    expect(await readFile(join(clean.dir, hang.log), "utf8")).toContain("# hang: waiting forever");
    // The test after it ran; nothing of the hang is left in the guest.
    expect(clean.tests.at(-1)).toMatchObject({ name: "kdevflow:skip", number: 6 });
    expect(inGuest("ps -o comm | grep -cx hang || true")).toBe("0");
  });

  it("a test made to fail is reported as failed with its log; compared with the clean run it is exactly one regression", { timeout: LONG }, async () => {
    await ready();
    inGuest(`touch ${REGRESS_MARKER}`);
    try {
      const res = await selftests({ label: "marked" });
      expect(res.exitCode, res.stderr.slice(-3000)).toBe(0);
      marked = ResultSet.parse(res.result);
    } finally {
      inGuest(`rm -f ${REGRESS_MARKER}`);
    }
    const regress = marked.tests.find((t) => t.name === "kdevflow:regress")!;
    expect(regress).toMatchObject({ status: "fail", reason: "exit 1", exit_code: 1, log: "logs/kdevflow/regress.log" });
    expect(regress.subtests.map((s) => s.status)).toEqual(["pass", "fail"]);
    const log = await readFile(join(marked.dir, regress.log), "utf8");
    expect(log).toContain(`# regress: ${REGRESS_MARKER} exists, so this run is broken on purpose`);
    expect(log).toContain("not ok 2 the marker is absent");
    expect(marked.summary).toEqual({ total: 6, pass: 3, fail: 1, skip: 1, timeout: 1, error: 0, not_run: 0 });
    expect(await readFile(join(marked.dir, "summary.txt"), "utf8")).toContain("FAIL    kdevflow:regress: exit 1 (logs/kdevflow/regress.log)");

    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const c = await compare(clean.dir, marked.dir);
      expect(c.counts).toEqual({ regressed: 1, fixed: 0, new: 0, gone: 0, same: 5, changed: 0, not_compared: 0 });
      expect(c.regressed).toEqual([{ name: "kdevflow:regress", a: "pass", b: "fail", reason: "exit 1" }]);
      // By label, through the script's own way of naming result sets.
      expect((await compare("clean", "marked")).counts.regressed).toBe(1);
    } finally {
      process.env = saved;
    }
  });

  it("keeps both result sets under the kernel's identity, latest first in f/kernel/results", async () => {
    await ready();
    const runs = (await readdir(join(wb, "system", "results", `kernel-${kernel.identity}`))).sort();
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatch(/^\d{8}T\d{6}\.\d{3}Z-clean$/);
    expect(runs[1]).toMatch(/^\d{8}T\d{6}\.\d{3}Z-marked$/);
  });

  it.each([
    ["an unknown test in the subset", { tests: ["kdevflow:nope"] }, /tests\[0\]: expected a test the kernel's kselftest install has \("kdevflow:pass", .*\), got "kdevflow:nope"\./],
    ["an unknown collection in the subset", { tests: ["size", "timers"] }, /tests\[1\]: expected a collection the kernel's kselftest install has \("size", "sigaltstack" or "kdevflow"\), got "timers"\./],
    ["a VM that is not running", { vm: "nosuchvm" }, /vm: expected a running guest \(boot it with f\/qsu\/boot; it is absent\), got "nosuchvm"\./],
    // The engine checks the form first (a Windmill server does not; the flow's own parse says it the same way).
    ["a zero timeout", { timeout_s: 0 }, /timeout_s: expected a (whole )?number .*, got 0\./],
    ["a negative timeout", { timeout_s: -1 }, /timeout_s: expected a (whole )?number .*, got -1\./],
  ])("refuses %s in one sentence, touching no guest", { timeout: LONG }, async (_what, over, message) => {
    await ready();
    const before = await readdir(join(wb, "system", "results", `kernel-${kernel.identity}`));
    const res = await selftests(over);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).not.toMatch(/^\s*\+ ssh /m);
    expect(await readdir(join(wb, "system", "results", `kernel-${kernel.identity}`))).toEqual(before);
  });

  it("refuses a manifest built without selftests in one sentence, touching no guest", { timeout: LONG }, async () => {
    await ready();
    const res = await selftests({ kernel: { ...kernel, selftests: null } });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain(`kernel: expected a kernel built with selftests (f/kernel/build's selftests input); this one has none, got "${kernel.store_key}".`);
    expect(res.stderr).not.toMatch(/^\s*\+ ssh /m);
  });

  it("a guest that hangs mid-run ends the run with the results so far, marked, the console log beside them", { timeout: LONG }, async () => {
    await ready();
    const started = Date.now();
    // Freeze the guest (QMP stop) as soon as the hanging test starts; its watchdog freezes with it.
    const watcher = (async () => {
      const root = join(wb, "system", "results", `kernel-${kernel.identity}`);
      for (;;) {
        const dirs = (await readdir(root)).filter((d) => d.endsWith("-frozen"));
        const out = dirs.length ? await readFile(join(root, dirs[0]!, "output.ktap"), "utf8").catch(() => "") : "";
        if (out.includes("# # hang: waiting forever")) break;
        if (Date.now() - started > 300_000) throw new Error("the hanging test never started");
        await new Promise((r) => setTimeout(r, 200));
      }
      const reply = await qmpCommand(booted.qmp_socket, "stop");
      if (reply.error) throw new Error(`QMP stop: ${reply.error.desc}`);
    })();
    const res = await selftests({ timeout_s: 120, label: "frozen" });
    await watcher;
    await qmpCommand(booted.qmp_socket, "cont");
    expect(res.exitCode, res.stderr.slice(-3000)).toBe(0);
    const r = ResultSet.parse(res.result);
    expect(r.state).toBe("guest-hung");
    expect(r.note).toBe("the guest stopped answering during kdevflow:hang: QEMU reports the guest paused");
    expect(r.tests.map((t) => [t.name, t.status])).toEqual([
      ["size:get_size", "pass"],
      ["sigaltstack:sas", "pass"],
      ["kdevflow:pass", "pass"],
      ["kdevflow:regress", "pass"],
      ["kdevflow:hang", "error"],
    ]);
    expect(r.not_run).toEqual(["kdevflow:skip"]);
    expect(await readFile(join(r.dir, "logs/kdevflow/hang.log"), "utf8")).toContain("# hang: waiting forever");
    expect(await readFile(join(r.dir, "summary.txt"), "utf8")).toContain("INCOMPLETE (guest-hung)");
    expect(await readFile(join(r.dir, "console.log"), "utf8")).not.toBe("");
    // Ended by the keepalives and the probe, not by the test's 120 s timeout.
    expect((Date.now() - started) / 1000).toBeLessThan(120);
  });

  it("a guest that dies mid-run ends the run at once with the results so far, marked, the console log beside them", { timeout: LONG }, async () => {
    await ready();
    const started = Date.now();
    const watcher = (async () => {
      const root = join(wb, "system", "results", `kernel-${kernel.identity}`);
      for (;;) {
        const dirs = (await readdir(root)).filter((d) => d.endsWith("-died"));
        const out = dirs.length ? await readFile(join(root, dirs[0]!, "output.ktap"), "utf8").catch(() => "") : "";
        if (out.includes("# # hang: waiting forever")) break;
        if (Date.now() - started > 300_000) throw new Error("the hanging test never started");
        await new Promise((r) => setTimeout(r, 200));
      }
      await qmpCommand(booted.qmp_socket, "quit");
    })();
    const res = await selftests({ timeout_s: 120, label: "died" });
    await watcher;
    expect(res.exitCode, res.stderr.slice(-3000)).toBe(0);
    const r = ResultSet.parse(res.result);
    expect(r.state).toBe("guest-died");
    expect(r.note).toMatch(/^the guest died during kdevflow:hang: qemu-system@st\.service is /);
    expect(r.tests.at(-1)).toMatchObject({ name: "kdevflow:hang", status: "error", reason: "the run ended while it ran (guest-died)" });
    expect(r.not_run).toEqual(["kdevflow:skip"]);
    expect(r.files.console_log).toBe("console.log");
    expect(await readFile(join(r.dir, "console.log"), "utf8")).not.toBe("");
    expect((Date.now() - started) / 1000).toBeLessThan(120);
  });
});
