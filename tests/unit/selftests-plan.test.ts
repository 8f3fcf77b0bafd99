// Planning a kselftest run before the guest is touched: the inputs (a zero or negative
// timeout, a bad label or test name), the selection against the install's list, the
// kernel (built with selftests, published), the guest (running, running that kernel),
// and the guest driver's command line. Pure.
import { describe, expect, it } from "vitest";
import { inputErrorOf as inputError } from "../harness/errors.ts";
import { parseInputs } from "../../f/common/inputs.ts";
import { KernelManifest } from "../../f/common/manifest.ts";
import { parseKselftestList } from "../../f/kernel/build/kselftest.ts";
import { DRIVER_SCRIPT, driverCommand, driverMark, unframe, unframeText } from "../../f/kernel/selftests/driver.ts";
import { parseKtapRun } from "../../f/kernel/selftests/ktap.ts";
import { Inputs } from "../../f/kernel/selftests/inputs.ts";
import { checkGuestRuns, kselftestInstallOf, selectTests } from "../../f/kernel/selftests/plan.ts";


const LIST = parseKselftestList("size:get_size\nsigaltstack:sas\nkdevflow:pass\nkdevflow:regress\nkdevflow:hang\nkdevflow:skip\n");
const STORE = "/nix/store/4cis7vnbclfz52xqlk7pfda17lhw3d9l-kernel-6.1.192-vanilla-9f5516df2983";
const manifest = (over: Partial<KernelManifest> = {}): KernelManifest =>
  KernelManifest.parse({
    kind: "kernel",
    image: `${STORE}/boot/vmlinuz`,
    modules_dir: null,
    kernelrelease: "6.1.192-vanilla-9f5516df2983",
    version: "6.1.192",
    identity: "9f5516df2983",
    label: "vanilla",
    commit: "0".repeat(40),
    ref: "v6.1.192",
    config: `${STORE}/boot/config`,
    config_method: "fragments",
    arch: "x86_64",
    compiler: "gcc",
    compile_commands: null,
    destdir: STORE,
    store_path: STORE,
    store_key: "kernel-6.1.192-vanilla-9f5516df2983",
    worktree: "/w/linux",
    b4_series: null,
    selftests: { targets: ["size", "sigaltstack", "kdevflow"], install_dir: `${STORE}/kselftest` },
    reused: true,
    built_at: "2026-01-01T00:00:00Z",
    ...over,
  });

describe("the inputs", () => {
  const base = { vm: "st", kernel: "kernel-6.1.192-vanilla-9f5516df2983" };
  it("defaults: every test, kselftest's 45 s, no label", () => {
    expect(parseInputs(Inputs, { ...base, tests: null, timeout_s: null, label: null })).toEqual({ ...base, tests: [], timeout_s: 45, label: "" });
  });
  it("takes the kernel as a manifest object or a Store key", () => {
    expect(parseInputs(Inputs, { ...base, kernel: { kind: "kernel" } }).kernel).toEqual({ kind: "kernel" });
  });
  it.each([
    [{ timeout_s: 0 }, "timeout_s: expected a whole number of seconds from 1 to 86400, got 0."],
    [{ timeout_s: -5 }, "timeout_s: expected a whole number of seconds from 1 to 86400, got -5."],
    [{ timeout_s: 1.5 }, "timeout_s: expected a whole number of seconds from 1 to 86400, got 1.5."],
    [{ tests: ["size", "../etc:passwd"] }, 'tests[1]: expected a collection (size) or collection:test (size:get_size), got "../etc:passwd".'],
    [{ tests: ["size; reboot"] }, 'tests[0]: expected a collection (size) or collection:test (size:get_size), got "size; reboot".'],
    [{ label: "a b" }, undefined],
    [{ vm: "../x" }, undefined],
    [{ kernel: "" }, undefined],
  ])("refuses %j in one sentence naming the field", (over, message) => {
    const e = inputError(() => parseInputs(Inputs, { ...base, ...over }));
    expect(e.field.replace(/\[\d+\]$/, "")).toBe(Object.keys(over)[0]);
    if (message) expect(e.message).toBe(message);
    expect(e.message.trim().split(/\.\s/).length).toBe(1);
  });
});

describe("selecting tests", () => {
  it("runs every installed test when none is named", () => {
    expect(selectTests([], LIST)).toEqual(LIST.map((t) => t.name));
  });
  it("expands a collection in the install's order and keeps the order asked, each test once", () => {
    expect(selectTests(["kdevflow:hang", "size", "kdevflow", "size:get_size"], LIST)).toEqual(["kdevflow:hang", "size:get_size", "kdevflow:pass", "kdevflow:regress", "kdevflow:skip"]);
  });
  it("refuses an unknown test, naming the tests of its collection", () => {
    expect(inputError(() => selectTests(["size", "kdevflow:nope"], LIST)).message).toBe(
      'tests[1]: expected a test the kernel\'s kselftest install has ("kdevflow:pass", "kdevflow:regress", "kdevflow:hang" or "kdevflow:skip"), got "kdevflow:nope".',
    );
  });
  it("refuses an unknown collection, naming the installed ones", () => {
    expect(inputError(() => selectTests(["timers"], LIST)).message).toBe('tests[0]: expected a collection the kernel\'s kselftest install has ("size", "sigaltstack" or "kdevflow"), got "timers".');
    expect(inputError(() => selectTests(["timers:nanosleep"], LIST)).field).toBe("tests[0]");
  });
});

describe("the kernel and the guest", () => {
  it("gives the kselftest install of a published kernel built with selftests", () => {
    expect(kselftestInstallOf(manifest())).toBe(`${STORE}/kselftest`);
  });
  it("refuses a kernel built without selftests, and one not published", () => {
    expect(inputError(() => kselftestInstallOf(manifest({ selftests: null }))).message).toBe(
      'kernel: expected a kernel built with selftests (f/kernel/build\'s selftests input); this one has none, got "kernel-6.1.192-vanilla-9f5516df2983".',
    );
    expect(inputError(() => kselftestInstallOf(manifest({ store_path: null }))).field).toBe("kernel");
  });
  it("reads a manifest published before selftests existed as one without them", () => {
    const { selftests: _, ...old } = manifest();
    expect(KernelManifest.parse(old).selftests).toBeNull();
  });
  const booted = { kernel: { identity: "9f5516df2983", store_key: "kernel-6.1.192-vanilla-9f5516df2983" } };
  it("passes a running guest that booted this kernel", () => {
    expect(() => checkGuestRuns("st", { state: "running", booted }, manifest())).not.toThrow();
  });
  it.each([
    [{ state: "absent", booted: null }, "vm", 'vm: expected a running guest (boot it with f/qsu/boot; it is absent), got "st".'],
    [{ state: "stopped", booted }, "vm", 'vm: expected a running guest (boot it with f/qsu/boot; it is stopped), got "st".'],
    [{ state: "running", booted: { kernel: { identity: "aaaaaaaaaaaa", store_key: "kernel-6.1.192-vanilla-aaaaaaaaaaaa" } } }, "kernel", 'kernel: expected the kernel st runs (kernel-6.1.192-vanilla-aaaaaaaaaaaa), got "kernel-6.1.192-vanilla-9f5516df2983".'],
  ])("refuses %j", (guest, field, message) => {
    const e = inputError(() => checkGuestRuns("st", guest, manifest()));
    expect(e.field).toBe(field);
    expect(e.message).toBe(message);
  });
});

const MARK = driverMark("0123456789abcdef");

describe("the guest driver's command line", () => {
  it("sets the mark, the install, the timeout and the tests as positional arguments, each quoted for the remote shell, then is the driver", () => {
    const cmd = driverCommand(MARK, `${STORE}/kselftest`, 45, ["size:get_size", "net/forwarding:router.sh"]);
    expect(cmd).toBe(`set -- @@kdevflow-0123456789abcdef@@ ${STORE}/kselftest 45 size:get_size net/forwarding:router.sh\n${DRIVER_SCRIPT}`);
  });
  it("quotes what a shell would read otherwise", () => {
    expect(driverCommand(MARK, "/a b/it's", 1, []).split("\n")[0]).toBe(`set -- @@kdevflow-0123456789abcdef@@ '/a b/it'\\''s' 1`);
  });
  it("takes only whole seconds, and a mark of 16 hex digits", () => {
    expect(() => driverCommand(MARK, "/x", 0, [])).toThrow();
    expect(() => driverCommand(MARK, "/x", 1.5, [])).toThrow();
    expect(() => driverMark("xyz")).toThrow();
  });
});

describe("the session's output as KTAP", () => {
  it("keeps the driver's marked lines as they are and prefixes test output", () => {
    expect(unframe(`${MARK}ok 1 selftests: a: b # exit=0 time=0.01`, MARK)).toEqual(["ok 1 selftests: a: b # exit=0 time=0.01"]);
    expect(unframe(`${MARK}# selftests: a: b`, MARK)).toEqual(["# selftests: a: b"]);
    expect(unframe("ok 1 a subtest", MARK)).toEqual(["# ok 1 a subtest"]);
    expect(unframe("", MARK)).toEqual(["#"]);
  });
  it("splits a test's last line that had no newline from the driver line glued to it", () => {
    expect(unframe(`no newline${MARK}ok 3 selftests: a: c # exit=0 time=0.00`, MARK)).toEqual(["# no newline", "ok 3 selftests: a: c # exit=0 time=0.00"]);
  });
  it("never takes a test's own 'ok' or 'selftests:' line for the driver's", () => {
    const text = unframeText(`${MARK}1..1\n${MARK}# selftests: a: b\nok 9 selftests: x: y\n# selftests: x: z\n${MARK}not ok 1 selftests: a: b # exit=1 time=0.10\n`, MARK);
    expect(text).toBe("1..1\n# selftests: a: b\n# ok 9 selftests: x: y\n# # selftests: x: z\nnot ok 1 selftests: a: b # exit=1 time=0.10\n");
    const run = parseKtapRun(text);
    expect(run.tests.map((t) => [t.name, t.status])).toEqual([["a:b", "fail"]]);
    expect(run.tests[0]!.log).toEqual(["ok 9 selftests: x: y", "# selftests: x: z"]);
  });
});
