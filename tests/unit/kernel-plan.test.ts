import { describe, expect, it } from "vitest";
import { inputErrorOf } from "../harness/errors.ts";
import { InputError } from "../../f/common/errors.ts";
import { buildIdentity } from "../../f/common/pipeline/identity.ts";
import { deriveLabel } from "../../f/common/pipeline/label.ts";
import { parseInputs } from "../../f/common/inputs.ts";
import { toolchainProbe } from "../../f/kernel/build/arch.ts";
import {
  baseTargets,
  IMAGELESS_PRESET,
  checkMakeTarget,
  configString,
  droppedMessage,
  droppedOptions,
  identityConfigText,
  mergeConfigText,
  mergeRequested,
  parseConfig,
  renderFragment,
} from "../../f/kernel/build/config.ts";
import { Inputs } from "../../f/kernel/build/inputs.ts";
import { checkMakeArgs, estimateCompileUnits, isCompileLine, makeArgv, makeVariables, type MakeContext } from "../../f/kernel/build/make.ts";
import { KERNELRELEASE_MAX, kernelIdentityParts, type KernelIdentityInputs, kernelVersionFromMakefile, labelBudget, localversionNames, planRelease, releaseBase } from "../../f/kernel/build/release.ts";
import { b4AmArgv, coverSubjectOf, parseSeries, seriesBranch, subjectOf } from "../../f/kernel/build/series.ts";


const ID = "0123456789ab";

describe("kernelrelease planning", () => {
  const series = (subject: string) => deriveLabel({ coverSubject: subject, ref: "v6.1.192", refIsUpstreamTag: true });
  it.each([
    ["6.1.192", "vanilla", "6.1.192-vanilla-0123456789ab"],
    ["6.1.192", deriveLabel({ ref: "refs/heads/dev/topic", refIsUpstreamTag: false }), "6.1.192-dev-topic-0123456789ab"],
    ["6.1.192", series("[PATCH v2 0/3] mm: fix the frobnicator"), "6.1.192-mm-fix-the-frobnicator-v2-0123456789ab"],
    ["6.1.192", series("[PATCH v12 0/3] " + "a very long cover letter subject ".repeat(4)), "6.1.192-a-very-long-cover-letter-subject-a-very-v12-0123456789ab"],
    ["6.1.192", series("[RFC PATCH 0/9] " + "x".repeat(100)), `6.1.192-${"x".repeat(43)}-0123456789ab`],
    ["6.1.192", deriveLabel({ customLabel: "Ünïcødé Label ✓", ref: "v6.1", refIsUpstreamTag: true }), "6.1.192-unicode-label-0123456789ab"],
    ["6.1.192", series("[PATCH v3 0/2] 日本語のパッチ"), "6.1.192-series-v3-0123456789ab"],
    ["6.10.0-rc7", "vanilla", "6.10.0-rc7-vanilla-0123456789ab"],
    ["6.1.192-custom", deriveLabel({ ref: "feature/a/b/c", refIsUpstreamTag: false }), "6.1.192-custom-feature-a-b-c-0123456789ab"],
  ])("%s + %s -> %s", (base, label, want) => {
    const plan = planRelease(base, label, ID);
    expect(plan.kernelrelease).toBe(want);
    expect(plan.kernelrelease.length).toBeLessThanOrEqual(KERNELRELEASE_MAX);
    expect(plan.localversion).toBe(want.slice(base.length));
    expect(plan.kernelrelease.endsWith(`-${ID}`)).toBe(true);
  });

  it("keeps every kernelrelease within 64 characters and keeps -vN, for any label length", () => {
    for (const base of ["6.1", "6.1.192", "6.10.0-rc7", "5.15.150-some-local-version"]) {
      for (let n = 1; n < 120; n += 7) {
        const label = `${"y".repeat(n)}-v12`;
        const plan = planRelease(base, label, ID);
        expect(plan.kernelrelease.length).toBeLessThanOrEqual(KERNELRELEASE_MAX);
        expect(plan.kernelrelease).toMatch(/-v12-0123456789ab$/);
        expect(plan.kernelrelease.startsWith(`${base}-`)).toBe(true);
      }
    }
  });

  it("gives the label what the base and identity leave", () => {
    expect(labelBudget("6.1.192")).toBe(64 - 7 - 2 - 12);
    expect(() => planRelease("x".repeat(50), "vanilla", ID)).toThrow(/no room for a label/);
  });

  it.each([
    ["VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\nNAME = Curry Ramen\n", "6.1.192"],
    ["VERSION = 6\nPATCHLEVEL = 10\nSUBLEVEL = 0\nEXTRAVERSION = -rc7\n", "6.10.0-rc7"],
    ["VERSION = 6\nPATCHLEVEL = 2\nSUBLEVEL =\nEXTRAVERSION =\n", "6.2"],
    ["VERSION=5\nPATCHLEVEL=15\nSUBLEVEL=150\nEXTRAVERSION=\t-custom\n", "5.15.150-custom"],
  ])("reads KERNELVERSION from the Makefile like make does (%#)", (makefile, want) => {
    expect(kernelVersionFromMakefile(makefile)).toBe(want);
  });

  it("refuses a Makefile that is not a kernel's", () => {
    expect(() => kernelVersionFromMakefile("all:\n\techo hi\n")).toThrow(/not a kernel tree/);
  });

  it("builds the base as scripts/setlocalversion does: localversion files, then CONFIG_LOCALVERSION", () => {
    expect(releaseBase("6.1.192", [], "")).toBe("6.1.192");
    expect(releaseBase("6.1.192", ["-rt5\n", "-extra"], "-mine")).toBe("6.1.192-rt5-extra-mine");
    expect(localversionNames(["Makefile", "localversion-rt", "localversion~", "localversion", "localversion-a~b", "xlocalversion"])).toEqual(["localversion", "localversion-rt"]);
    expect(configString(parseConfig('CONFIG_LOCALVERSION="-my\\"v"\n'), "LOCALVERSION")).toBe('-my"v');
    expect(configString(parseConfig('CONFIG_LOCALVERSION=""\n'), "LOCALVERSION")).toBe("");
    expect(configString(parseConfig(""), "LOCALVERSION")).toBe("");
  });
});

describe("config files", () => {
  it("parses set, module, string and unset options; later lines win", () => {
    const c = parseConfig('CONFIG_A=y\nCONFIG_B=m\nCONFIG_S="x y"\n# CONFIG_C is not set\n# a comment\nCONFIG_A=n\n');
    expect([...c]).toEqual([["A", "n"], ["B", "m"], ["S", '"x y"'], ["C", "n"]]);
  });

  it("merges fragments in the order given, the later one winning", () => {
    const base = "CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n";
    const merged = mergeConfigText(base, [
      { name: "one", text: "CONFIG_B=m\nCONFIG_C=y\n" },
      { name: "two", text: "# CONFIG_B is not set\nCONFIG_D=y\n" },
    ]);
    const c = parseConfig(merged);
    expect(c.get("A")).toBe("y");
    expect(c.get("B")).toBe("n");
    expect(c.get("C")).toBe("y");
    expect(c.get("D")).toBe("y");
    expect(merged.match(/CONFIG_B/g)).toHaveLength(1);
    expect(mergeRequested(["CONFIG_B=m\n", "# CONFIG_B is not set\n"]).get("B")).toBe("n");
  });

  it("names every option olddefconfig dropped", () => {
    const requested = parseConfig("CONFIG_A=y\nCONFIG_B=m\nCONFIG_C=y\n# CONFIG_D is not set\nCONFIG_S=\"v\"\nCONFIG_M=m\n");
    const final = parseConfig("CONFIG_A=y\nCONFIG_M=y\n# CONFIG_C is not set\nCONFIG_S=\"w\"\n");
    const dropped = droppedOptions(requested, final);
    expect(dropped).toEqual([
      { option: "CONFIG_B", wanted: "m", got: "not set" },
      { option: "CONFIG_C", wanted: "y", got: "n" },
      { option: "CONFIG_S", wanted: '"v"', got: '"w"' },
    ]);
    expect(droppedMessage(dropped.slice(0, 1), "fragments")).toBe(
      "configure (fragments): olddefconfig dropped an option that was asked for: CONFIG_B (asked m, got not set); enable its dependencies too",
    );
    expect(droppedMessage(dropped, "preset")).toMatch(/dropped 3 options that were asked for: CONFIG_B .*CONFIG_C .*CONFIG_S/);
  });

  it("hashes the .config without CONFIG_LOCALVERSION and without comments", () => {
    const a = '#\n# Linux/x86 6.1.192 Kernel Configuration\n#\nCONFIG_A=y\nCONFIG_LOCALVERSION="-x"\n# CONFIG_B is not set\n';
    const b = '#\n# Linux/x86 6.1.192 Kernel Configuration (other header)\nCONFIG_A=y\nCONFIG_LOCALVERSION="-y"\n# CONFIG_B is not set\n';
    expect(identityConfigText(a)).toBe(identityConfigText(b));
    expect(identityConfigText(a)).toBe("CONFIG_A=y\n# CONFIG_B is not set\n");
  });

  it("renders a fragment that parses back to the same options", () => {
    expect(parseConfig(renderFragment(IMAGELESS_PRESET, "t"))).toEqual(new Map(Object.entries(IMAGELESS_PRESET)));
  });

  it("has the imageless preset cover what an imageless NixOS guest needs", () => {
    for (const o of ["VIRTIO_PCI", "VIRTIO_FS", "FUSE_FS", "TMPFS", "DEVTMPFS", "VIRTIO_CONSOLE", "VIRTIO_BLK", "VIRTIO_NET", "NET_9P", "NET_9P_VIRTIO", "9P_FS", "SERIAL_8250_CONSOLE", "ACPI", "CGROUPS", "INOTIFY_USER", "SIGNALFD", "TIMERFD", "EPOLL", "FHANDLE", "AUTOFS_FS", "TMPFS_POSIX_ACL"]) {
      expect(IMAGELESS_PRESET[o], o).toBe("y");
    }
  });
});

describe("identity parts", () => {
  const base: KernelIdentityInputs = { configText: "CONFIG_A=y\n", compiler: "gcc", makeArgv: [], arch: "x86_64", devshellDrv: "/nix/store/a-build.drv", sourceTree: "t1", reproducible: true };
  const id = (over: Partial<KernelIdentityInputs> = {}) => buildIdentity(kernelIdentityParts({ ...base, ...over }));
  it.each([
    ["a config option", { configText: "CONFIG_A=m\n" }],
    ["the compiler", { compiler: "clang" as const }],
    ["the make arguments", { makeArgv: ["KCFLAGS=-O1"] as never[] }],
    ["the arch", { arch: "arm64" as const }],
    ["the dev shell", { devshellDrv: "/nix/store/b-build.drv" }],
    ["the source tree", { sourceTree: "t2" }],
    ["reproducible", { reproducible: false }],
    ["kselftest targets", { selftests: ["size"] }],
  ])("changes with %s", (_what, over) => {
    expect(id(over as Partial<KernelIdentityInputs>)).not.toBe(id());
  });
  it("changes with each kselftest target and their order, and is the old identity without any", () => {
    expect(id({ selftests: ["size", "timers"] })).not.toBe(id({ selftests: ["size"] }));
    expect(id({ selftests: ["timers", "size"] })).not.toBe(id({ selftests: ["size", "timers"] }));
    // No targets leaves the key out: builds published before kselftests keep their identity.
    expect(id({ selftests: [] })).toBe(id());
    expect(kernelIdentityParts(base)).not.toHaveProperty("selftests");
  });
  it("does not change with CONFIG_LOCALVERSION", () => {
    expect(id({ configText: 'CONFIG_A=y\nCONFIG_LOCALVERSION="-mine"\n' })).toBe(id());
  });
});

describe("make command lines", () => {
  const ctx: MakeContext = { src: "/w/linux", build: "/w/linux/build", arch: "x86_64", compiler: "gcc", ccache: true, jobs: 2, makeArgv: ["V=1"], hostArch: "x64" };
  it("gcc with ccache", () => {
    expect(makeArgv({ ...ctx, localversion: "-vanilla-0123456789ab", reproducibleVars: { KBUILD_BUILD_TIMESTAMP: "Mon, 1 Jan 2024 00:00:00 +0000" } }, ["all"], { jobs: true })).toEqual([
      "make", "-C", "/w/linux", "-j2", "O=/w/linux/build", "ARCH=x86_64", "CC=ccache gcc", "LOCALVERSION=-vanilla-0123456789ab",
      "KBUILD_BUILD_TIMESTAMP=Mon, 1 Jan 2024 00:00:00 +0000", "V=1", "all",
    ]);
  });
  it("clang is LLVM=1", () => {
    expect(makeVariables({ ...ctx, compiler: "clang" })).toEqual(["O=/w/linux/build", "ARCH=x86_64", "LLVM=1", "CC=ccache clang"]);
    expect(makeVariables({ ...ctx, compiler: "clang", ccache: false })).toEqual(["O=/w/linux/build", "ARCH=x86_64", "LLVM=1"]);
  });
  it("arm64 from x86_64 cross-compiles with gcc", () => {
    expect(makeVariables({ ...ctx, arch: "arm64" })).toEqual(["O=/w/linux/build", "ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-", "CC=ccache aarch64-linux-gnu-gcc"]);
    expect(toolchainProbe("arm64", "gcc", "x64")).toBe("aarch64-linux-gnu-gcc");
    expect(toolchainProbe("x86_64", "gcc", "x64")).toBe("gcc");
    expect(toolchainProbe("arm64", "clang", "x64")).toBe("clang");
  });
  it("an empty LOCALVERSION is still passed (it suppresses the '+')", () => {
    expect(makeVariables({ ...ctx, ccache: false, localversion: "" })).toContain("LOCALVERSION=");
  });
});

describe("make_args", () => {
  it("passes shell metacharacters through as literal arguments", () => {
    expect(checkMakeArgs("KCFLAGS='-O2 -g' V=1 ; touch /tmp/pwned $(id) `x` | > &")).toEqual(["KCFLAGS=-O2 -g", "V=1", ";", "touch", "/tmp/pwned", "$(id)", "`x`", "|", ">", "&"]);
  });
  it.each([["O=/elsewhere"], ["LOCALVERSION=-x"], ["ARCH=arm"], ["-C /"], ["-j8"], ["--file=Makefile.evil"], ["-fMakefile"]])("refuses %j", (text) => {
    expect(inputErrorOf(() => checkMakeArgs(text)).field).toBe("make_args");
  });
});

describe("input checks (before anything on disk changes)", () => {
  const ok = { git_ref: "v6.1" };
  it("fills defaults", () => {
    const c = parseInputs(Inputs, ok);
    expect(c.config_method).toBe("make_target");
    expect(c.make_target).toBe("defconfig");
    expect(checkMakeArgs(c.make_args)).toEqual([]);
    expect(parseSeries(c.b4_series)).toEqual({ kind: "none" });
  });
  it.each([
    [{ git_ref: "" }, "git_ref"],
    [{ ...ok, config_method: "magic" }, "config_method"],
    [{ ...ok, compiler: "icc" }, "compiler"],
    [{ ...ok, arch: "riscv" }, "arch"],
    [{ ...ok, preset: "huge" }, "preset"],
    [{ ...ok, make_target: "menuconfig; rm -rf /" }, "make_target"],
    [{ ...ok, fragments: ["../../etc/passwd"] }, "fragments[0]"],
    [{ ...ok, config_method: "fragments", fragments: [] }, "fragments"],
    [{ ...ok, ccache_max_size: "lots" }, "ccache_max_size"],
    [{ ...ok, make_args: "A='unclosed" }, "make_args"],
    [{ ...ok, b4_series: "not a message id" }, "b4_series"],
  ])("%j is refused naming %s", (raw, field) => {
    const err = inputErrorOf(() => parseInputs(Inputs, raw));
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field}: expected `)).toBe(true);
    expect(err.message.endsWith(".")).toBe(true);
  });
  it("checks the make target against what the tree offers", () => {
    const targets = baseTargets(["x86_64_defconfig", "i386_defconfig", "tiny.config", "xen.config"]);
    expect(targets).toContain("tinyconfig");
    expect(targets).toContain("x86_64_defconfig");
    expect(targets).not.toContain("xen.config");
    expect(checkMakeTarget("x86_64_defconfig", targets)).toBe("x86_64_defconfig");
    expect(inputErrorOf(() => checkMakeTarget("nosuchconfig", targets)).message).toMatch(/^make_target: expected a config target this tree has: "defconfig", "tinyconfig", .*"x86_64_defconfig", got "nosuchconfig"\.$/);
  });
});

describe("b4 series", () => {
  it.each([
    ["", { kind: "none" }],
    ["  ", { kind: "none" }],
    ["/tmp/series.mbox", { kind: "mbox", path: "/tmp/series.mbox" }],
    ["20240101120000.12345-1-kay@example.org", { kind: "msgid", msgid: "20240101120000.12345-1-kay@example.org" }],
    ["<cover.123.git.kay@example.org>", { kind: "msgid", msgid: "cover.123.git.kay@example.org" }],
  ])("%j", (value, want) => {
    expect(parseSeries(value)).toEqual(want);
  });
  it("runs b4 am offline from an mbox, or by message-id", () => {
    expect(b4AmArgv({ kind: "mbox", path: "/m.mbox" }, "/out")).toEqual(["b4", "--no-interactive", "am", "-o", "/out", "-m", "/m.mbox"]);
    expect(b4AmArgv({ kind: "msgid", msgid: "a@b" }, "/out")).toEqual(["b4", "--no-interactive", "am", "-o", "/out", "a@b"]);
  });
  it("takes the cover subject, unfolded, else the first patch's", () => {
    expect(subjectOf("From: x\nSubject: [PATCH v2 0/2] a long\n subject folded\nDate: y\n")).toBe("[PATCH v2 0/2] a long subject folded");
    expect(coverSubjectOf("Subject: [PATCH v3 0/1] cover\n", "Subject: [PATCH v3 1/1] patch\n")).toBe("[PATCH v3 0/1] cover");
    expect(coverSubjectOf(null, "Subject: [PATCH 1/1] only patch\n")).toBe("[PATCH 1/1] only patch");
  });
  it("keeps the series as b4/<label> with -vN", () => {
    expect(seriesBranch("[PATCH v2 0/2] kdevflow: demo series for build tests")).toBe("b4/kdevflow-demo-series-for-build-tests-v2");
    expect(seriesBranch("[PATCH 0/1] no revision")).toBe("b4/no-revision");
  });
});

describe("compile progress", () => {
  it("counts kbuild CC lines, built-in and module", () => {
    expect(isCompileLine("  CC      init/main.o")).toBe(true);
    expect(isCompileLine("  CC [M]  kernel/configs.o")).toBe(true);
    expect(isCompileLine("  HOSTCC  scripts/kconfig/conf.o")).toBe(false);
    expect(isCompileLine("  LD      vmlinux")).toBe(false);
    expect(isCompileLine("CC init/main.o")).toBe(false);
  });
  it("expects the last build's count, else estimates from the config", () => {
    expect(estimateCompileUnits(812, "")).toBe(812);
    expect(estimateCompileUnits(null, "")).toBe(200);
    expect(estimateCompileUnits(null, Array.from({ length: 1000 }, (_, i) => `CONFIG_X${i}=y`).join("\n"))).toBe(2200);
  });
});
