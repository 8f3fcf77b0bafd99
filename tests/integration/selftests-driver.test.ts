// The guest driver (f/kernel/selftests/driver.ts) under real shells: busybox ash (what
// the test guest has), bash (a NixOS root's login shell) and dash, over a kselftest-like
// install of small scripts, and the whole command line driverCommand gives ssh read by
// each shell as a login shell reads it (`<shell> -c <command>`). Its output goes through
// the real parser, so what the driver prints and what the host reads cannot drift.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../f/common/run.ts";
import { DRIVER_SCRIPT, driverCommand, driverMark, unframeText } from "../../f/kernel/selftests/driver.ts";
import { parseKtapRun } from "../../f/kernel/selftests/ktap.ts";
import { writeScriptInstall } from "../harness/selftests.ts";

const TESTS: Record<string, string> = {
  "c/pass": "echo 'TAP version 13'; echo 1..1; echo 'ok 1 fine'; exit 0",
  "c/fail": "echo 'TAP version 13'; echo 1..1; echo '# about to fail'; echo 'not ok 1 broken'; exit 1",
  "c/skip": "echo '1..0 # SKIP no such device'; exit 4",
  "c/hang": "echo waiting; sleep 600",
  "c/segv": "echo crashing; kill -SEGV $$",
  "c/noeol": "printf 'no newline at the end'; exit 0",
  "c/stderr": "echo to-stderr >&2; exit 0",
  "c/reads": "read x && echo \"read: $x\"; exit 0",
  "d/other": "pwd; exit 0",
};

let root: string;
// A folder with a space and a quote: the command line must survive the remote shell.
const install = () => join(root, "kselftest it's");

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kdevflow-driver-"));
  await writeScriptInstall(install(), TESTS);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const MARK = driverMark("0123456789abcdef");

// The shell that interprets the driver: ash (the test guest's sh) and bash (NixOS's) wait
// with `read -t`; dash has no `read -t` and waits with sleep(1).
const SHELLS: [string, string[]][] = [
  ["busybox ash", ["busybox", "sh"]],
  ["bash", ["bash"]],
  ["dash", ["dash"]],
];

/** The driver run by `shell` with its positional arguments, as the remote login shell runs driverCommand. */
const driverArgv = (shell: string[], dir: string, timeoutS: number, names: string[]) => [...shell, "-c", DRIVER_SCRIPT, "kdevflow-kselftest", MARK, dir, String(timeoutS), ...names];

describe.each(SHELLS)("the guest driver under %s", (_name, shell) => {
  it("runs each test once with its timeout, and the parser reads every verdict", { timeout: 60_000 }, async () => {
    const names = ["c:pass", "c:fail", "c:skip", "c:hang", "c:segv", "c:noeol", "c:stderr", "c:reads", "d:other", "c:missing"];
    const started = Date.now();
    const res = await run(driverArgv(shell, install(), 2, names), { capture: true, quiet: true, allowFailure: true, timeoutMs: 50_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(res.exitCode).toBe(0);
    const parsed = parseKtapRun(unframeText(res.stdout, MARK));
    expect(parsed.plan).toBe(names.length);
    expect(parsed.open).toBeNull();
    expect(parsed.tests.map((t) => [t.name, t.status])).toEqual([
      ["c:pass", "pass"],
      ["c:fail", "fail"],
      ["c:skip", "skip"],
      ["c:hang", "timeout"],
      ["c:segv", "error"],
      ["c:noeol", "pass"],
      ["c:stderr", "pass"],
      ["c:reads", "pass"],
      ["d:other", "pass"],
      ["c:missing", "error"],
    ]);
    const by = (n: string) => parsed.tests.find((t) => t.name === n)!;
    expect(by("c:fail")).toMatchObject({ exit_code: 1, log: ["TAP version 13", "1..1", "# about to fail", "not ok 1 broken"] });
    expect(by("c:hang")).toMatchObject({ exit_code: 137 });
    expect(by("c:hang").duration_s).toBeGreaterThanOrEqual(2);
    expect(by("c:hang").log[0]).toBe("waiting");
    expect(by("c:segv")).toMatchObject({ exit_code: 139, reason: "killed by signal 11 (SIGSEGV)" });
    // Output without a final newline still ends before the verdict; stderr is kept; stdin is empty.
    expect(by("c:noeol").log).toEqual(["no newline at the end"]);
    expect(by("c:stderr").log).toEqual(["to-stderr"]);
    expect(by("c:reads").log).toEqual([]);
    // Each test runs in its collection's folder.
    expect(by("d:other").log).toEqual([join(install(), "d")]);
    expect(by("c:missing").reason).toBe("the test file is missing");
    for (const t of parsed.tests) expect(t.duration_s).not.toBeNull();
    // One test hung for its 2 s; the rest took far less.
    expect(seconds).toBeLessThan(15);
  });

  it("bails out in one line when the install is not there", async () => {
    const res = await run(driverArgv(shell, join(root, "nowhere"), 2, ["c:pass"]), { capture: true, quiet: true, allowFailure: true });
    expect(res.exitCode).toBe(3);
    expect(parseKtapRun(unframeText(res.stdout, MARK)).bailout).toBe(`the guest has no kselftest install at ${join(root, "nowhere")}`);
  });
});

describe("the guest driver's command line", () => {
  it.each(SHELLS)("survives %s as the login shell: a folder with a space and a quote, read back verbatim", { timeout: 60_000 }, async (_name, shell) => {
    const res = await run([...shell, "-c", driverCommand(MARK, install(), 2, ["c:pass", "d:other"])], { capture: true, quiet: true });
    const parsed = parseKtapRun(unframeText(res.stdout, MARK));
    expect(parsed.tests.map((t) => [t.name, t.status])).toEqual([["c:pass", "pass"], ["d:other", "pass"]]);
    expect(parsed.tests[1]!.log).toEqual([join(install(), "d")]);
  });
});
