// The kselftest part of the kernel build, planned: the targets a tree's selftests
// Makefile offers, the check of the requested ones (one sentence naming valid ones), the
// make arguments of kselftest-install, progress from make's directory lines, and the
// installed kselftest-list.txt. Pure: no make, no tree.
import { describe, expect, it } from "vitest";
import { inputErrorOf as inputError } from "../harness/errors.ts";
import { parseInputs } from "../../f/common/inputs.ts";
import { Inputs } from "../../f/kernel/build/inputs.ts";
import { checkTargets, closest, enteredTarget, kselftestMakeTargets, makefileTargets, missingTargets, parseKselftestList } from "../../f/kernel/build/kselftest.ts";
import { checkMakeArgs } from "../../f/kernel/build/make.ts";


// The shapes a kselftest Makefile uses (as in Linux 6.1): plain and nested targets, a
// conditional one, a second variable that is not TARGETS, and make expressions.
const MAKEFILE = `# SPDX-License-Identifier: GPL-2.0
TARGETS += alsa
TARGETS += breakpoints
TARGETS += drivers/net/bonding
TARGETS += net
TARGETS += net/forwarding
TARGETS += size
ifneq (1, $(quicktest))
TARGETS += timers
endif
TARGETS += vDSO  # trailing comment
TARGETS_HOTPLUG = cpu-hotplug
TARGETS_HOTPLUG += memory-hotplug
SKIP_TARGETS ?= bpf
ifneq ($(SKIP_TARGETS),)
	TMP := $(filter-out $(SKIP_TARGETS), $(TARGETS))
	override TARGETS := $(TMP)
endif
`;

describe("the targets of a selftests Makefile", () => {
  it("reads every TARGETS line in order, conditional ones included, and nothing else", () => {
    expect(makefileTargets(MAKEFILE)).toEqual(["alsa", "breakpoints", "drivers/net/bonding", "net", "net/forwarding", "size", "timers", "vDSO"]);
  });
  it("reads several targets on one line once each", () => {
    expect(makefileTargets("TARGETS = a b\nTARGETS += b c\n")).toEqual(["a", "b", "c"]);
  });
  it("has none in a tree without the Makefile", () => {
    expect(makefileTargets("")).toEqual([]);
  });
});

describe("checking the requested targets", () => {
  const available = makefileTargets(MAKEFILE);
  it("passes the tree's targets in the order asked", () => {
    expect(checkTargets(["timers", "size", "net/forwarding"], available)).toEqual(["timers", "size", "net/forwarding"]);
    expect(checkTargets([], [])).toEqual([]);
  });
  it("refuses an unknown target in one sentence naming the field and valid targets, closest first", () => {
    const e = inputError(() => checkTargets(["size", "timer"], available));
    expect(e.field).toBe("selftests[1]");
    expect(e.message).toBe('selftests[1]: expected a kselftest target of this tree ("timers", "alsa", "breakpoints", "drivers/net/bonding", "net", "net/forwarding", "size" or "vDSO"), got "timer".');
    expect(e.message.split(". ").length).toBe(1);
  });
  it("names at most eight targets, however many the tree has", () => {
    const many = Array.from({ length: 80 }, (_, i) => `t${i}`);
    const e = inputError(() => checkTargets(["nope"], many));
    expect(e.message).toMatch(/or one of 72 more\), got "nope"\.$/);
  });
  it("refuses a target named twice", () => {
    expect(inputError(() => checkTargets(["size", "size"], available)).message).toBe('selftests[1]: expected each target once, got "size".');
  });
  it("refuses targets in a tree without kselftests", () => {
    expect(inputError(() => checkTargets(["size"], [])).field).toBe("selftests");
  });
  it("puts the targets sharing the wrong one's start or text first", () => {
    expect(closest("forwarding", ["alsa", "net", "net/forwarding"])[0]).toBe("net/forwarding");
    expect(closest("tim", ["alsa", "timens", "timers"]).slice(0, 2)).toEqual(["timens", "timers"]);
  });
});

describe("the selftests input", () => {
  it("defaults to none", () => {
    expect(parseInputs(Inputs, { git_ref: "v6.1" }).selftests).toEqual([]);
    expect(parseInputs(Inputs, { git_ref: "v6.1", selftests: null }).selftests).toEqual([]);
  });
  it.each([["../size"], ["size timers"], ["/abs"], [""], ["net//x"]])("refuses the name %j before the tree is read", (bad) => {
    expect(inputError(() => parseInputs(Inputs, { git_ref: "v6.1", selftests: ["size", bad] })).field).toBe("selftests[1]");
  });
  it("keeps kdevflow's kselftest variables out of make_args", () => {
    for (const v of ["TARGETS=net", "SKIP_TARGETS=", "FORCE_TARGETS=", "KSFT_INSTALL_PATH=/x"]) expect(inputError(() => checkMakeArgs(v)).field).toBe("make_args");
  });
});

describe("kselftest-install", () => {
  it("builds exactly the targets asked (none skipped, a failed one fails) into the install folder", () => {
    expect(kselftestMakeTargets(["size", "net/forwarding"], "/w/linux/destdir/kselftest")).toEqual([
      "TARGETS=size net/forwarding", "SKIP_TARGETS=", "FORCE_TARGETS=1", "KSFT_INSTALL_PATH=/w/linux/destdir/kselftest", "kselftest-install",
    ]);
    expect(() => kselftestMakeTargets([], "/x")).toThrow();
  });
  it("counts make entering a requested target's folder", () => {
    const targets = ["size", "net/forwarding"];
    expect(enteredTarget("make[3]: Entering directory '/w/linux/tools/testing/selftests/size'", targets)).toBe("size");
    expect(enteredTarget("make[3]: Entering directory '/w/linux/tools/testing/selftests/net/forwarding'", targets)).toBe("net/forwarding");
    expect(enteredTarget("make[3]: Leaving directory '/w/linux/tools/testing/selftests/size'", targets)).toBeNull();
    expect(enteredTarget("make[2]: Entering directory '/w/linux/tools/testing/selftests/net'", targets)).toBeNull();
    expect(enteredTarget("  CC      init/main.o", targets)).toBeNull();
  });
  it("reads kselftest-list.txt, nested collections included", () => {
    expect(parseKselftestList("size:get_size\nnet/forwarding:router.sh\n\n")).toEqual([
      { collection: "size", test: "get_size", name: "size:get_size" },
      { collection: "net/forwarding", test: "router.sh", name: "net/forwarding:router.sh" },
    ]);
    expect(() => parseKselftestList("no-colon\n")).toThrow(/collection:test/);
  });
  it("names a target that installed no test", () => {
    expect(missingTargets(["size", "timers"], parseKselftestList("size:get_size\n"))).toEqual(["timers"]);
  });
});
