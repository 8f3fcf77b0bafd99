import { describe, expect, it } from "vitest";
import { inputErrorOf } from "../harness/errors.ts";
import { isInputError } from "../../f/common/errors.ts";
import { QemuManifest } from "../../f/common/manifest.ts";
import { parseInputs } from "../../f/common/inputs.ts";
import { buildIdentity } from "../../f/common/pipeline/identity.ts";
import { Inputs } from "../../f/qemu/build/inputs.ts";
import {
  checkConfigureArgs,
  checkTargetsInTree,
  compilerCommands,
  configureArgv,
  emulatorName,
  firmwareDirs,
  hasSubprojectWraps,
  installName,
  makeIdentityParts,
  makeManifest,
  ninjaProgress,
  parseVersionFile,
  showsWerror,
  splitConfigureArgs,
  storeKey,
  supportsDisableDownload,
  targetsInTree,
  TARGET_CHOICES,
  werrorAdvice,
} from "../../f/qemu/build/plan.ts";


describe("splitConfigureArgs splits words without a shell", () => {
  const cases: [string, string[]][] = [
    ["", []],
    ["   ", []],
    ["--disable-werror", ["--disable-werror"]],
    ["  --disable-werror   --enable-virtfs ", ["--disable-werror", "--enable-virtfs"]],
    ["--foo; rm -rf /tmp/x", ["--foo;", "rm", "-rf", "/tmp/x"]],
    ["--a=$(touch /tmp/y) `id` $HOME *", ["--a=$(touch", "/tmp/y)", "`id`", "$HOME", "*"]],
    ["--a|b&&c>d<e", ["--a|b&&c>d<e"]],
    ["--extra='a b' --y", ["--extra=a b", "--y"]],
    ['--extra="a \\"b\\" \\\\ c" z', ['--extra=a "b" \\ c', "z"]],
    ["--x='it''s'", ["--x=its"]],
    ["a\\ b c", ["a b", "c"]],
    ["--a\n--b\t--c", ["--a", "--b", "--c"]],
  ];
  it.each(cases)("%j", (text, words) => {
    expect(splitConfigureArgs(text)).toEqual(words);
  });

  it("treats null and undefined as no flags", () => {
    expect(splitConfigureArgs(null)).toEqual([]);
    expect(splitConfigureArgs(undefined)).toEqual([]);
  });

  it.each(["--x='open", '--x="open', "a 'b"])("rejects an unclosed quote in %j", (text) => {
    expect(inputErrorOf(() => splitConfigureArgs(text)).message).toMatch(/^configure_args: expected arguments with balanced quotes/);
  });
});

describe("checkConfigureArgs keeps the flow's own options to the flow", () => {
  it.each(["--prefix=/x", "--target-list=arm-softmmu", "--cc=tcc", "--cxx", "--extra-cflags=-O0"])("rejects %s", (arg) => {
    const err = inputErrorOf(() => splitConfigureArgs(`--disable-werror ${arg}`));
    expect(err.message).toMatch(/^configure_args: expected extra flags other than/);
    expect(err.message).toContain(JSON.stringify(arg));
  });
  it("passes other flags through unchanged", () => {
    expect(checkConfigureArgs(["--disable-werror", "--enable-virtfs", "--foo;"])).toEqual(["--disable-werror", "--enable-virtfs", "--foo;"]);
  });
});

describe("targets", () => {
  it("lists a tree's targets from configs/targets file names", () => {
    expect(targetsInTree(["x86_64-softmmu.mak", "aarch64-linux-user.mak", "README", "i386-bsd-user.mak", "weird.mak"])).toEqual([
      "aarch64-linux-user",
      "i386-bsd-user",
      "x86_64-softmmu",
    ]);
  });

  const targets = (target_list: unknown) => parseInputs(Inputs, { target_list }).target_list;
  const ok: [unknown, string[]][] = [
    [["x86_64-softmmu"], ["x86_64-softmmu"]],
    [["x86_64-softmmu", "aarch64-softmmu", "x86_64-softmmu"], ["aarch64-softmmu", "x86_64-softmmu"]],
    [null, ["x86_64-softmmu"]],
  ];
  it.each(ok)("the form's %j becomes %j", (input, out) => {
    expect(targets(input)).toEqual(out);
  });

  it("does not care about order: both orders give one canonical list", () => {
    expect(targets(["x86_64-softmmu", "aarch64-softmmu"])).toEqual(targets(["aarch64-softmmu", "x86_64-softmmu"]));
  });

  const bad: [unknown, string, RegExp][] = [
    [[], "target_list", /a non-empty list of QEMU targets/],
    ["x86_64-softmmu", "target_list", /a non-empty list of QEMU targets/],
    [42, "target_list", /a non-empty list of QEMU targets/],
    [[1], "target_list[0]", /one of "x86_64-softmmu", .* or one of \d+ more, got 1\.$/],
    [["x86_64"], "target_list[0]", /one of "x86_64-softmmu"/],
    [["x86_64-softmmu", "x86_64-softmmu;rm"], "target_list[1]", /one of "x86_64-softmmu"/],
  ];
  it.each(bad)("rejects %j naming %s", (input, field, re) => {
    const err = inputErrorOf(() => targets(input));
    expect(err.message.startsWith(`${field}: expected `)).toBe(true);
    expect(err.message).toMatch(re);
    expect(err.message.length).toBeLessThan(300);
  });

  it("names the missing target and lists the valid ones", () => {
    const err = inputErrorOf(() => checkTargetsInTree(["x86_64-softmmu", "hexagon-softmmu"], ["aarch64-softmmu", "x86_64-softmmu"]));
    expect(err.message).toBe('target_list: expected targets this tree\'s configs/targets/ has: "aarch64-softmmu" or "x86_64-softmmu", got "hexagon-softmmu".');
  });

  it("accepts targets the tree has", () => {
    expect(() => checkTargetsInTree(["x86_64-softmmu"], ["x86_64-softmmu"])).not.toThrow();
  });

  it("offers only well-formed targets in the form, x86_64-softmmu among them", () => {
    expect(targets([...TARGET_CHOICES])).toHaveLength(TARGET_CHOICES.length);
    for (const t of TARGET_CHOICES) expect(t).toMatch(/^[a-z0-9_]+-(softmmu|linux-user|bsd-user)$/);
    expect(TARGET_CHOICES).toContain("x86_64-softmmu");
  });

  const emulators: [string[], string][] = [
    [["x86_64-softmmu"], "qemu-system-x86_64"],
    [["aarch64-softmmu", "x86_64-softmmu"], "qemu-system-x86_64"],
    [["aarch64-softmmu", "riscv64-softmmu"], "qemu-system-aarch64"],
    [["x86_64-linux-user"], "qemu-x86_64"],
    [["arm-linux-user", "riscv64-softmmu"], "qemu-system-riscv64"],
  ];
  it.each(emulators)("names the emulator for %j", (targets, name) => {
    expect(emulatorName(targets)).toBe(name);
  });
});

describe("configure command line", () => {
  const base = {
    src: "/w/0/qemu",
    prefix: "/w/0/qemu/destdir/7.2.22-vanilla-0123456789ab",
    targets: ["x86_64-softmmu"],
    compiler: "gcc" as const,
    ccache: true,
    extraArgs: [] as string[],
    disableDownload: true,
  };

  it("passes the compiler through --cc/--cxx, ccache as one word-split argument", () => {
    expect(configureArgv(base)).toEqual([
      "/w/0/qemu/configure",
      "--target-list=x86_64-softmmu",
      "--prefix=/w/0/qemu/destdir/7.2.22-vanilla-0123456789ab",
      "--cc=ccache gcc",
      "--cxx=ccache g++",
      "--disable-download",
      "--extra-cflags=-fdebug-prefix-map=/w/0/qemu=.",
    ]);
  });

  it("gives clang -Qunused-arguments in the extra C and link flags", () => {
    const argv = configureArgv({ ...base, compiler: "clang", ccache: false });
    expect(argv).toContain("--cc=clang");
    expect(argv).toContain("--cxx=clang++");
    expect(argv).toContain("--extra-cflags=-Qunused-arguments -fdebug-prefix-map=/w/0/qemu=.");
    expect(argv).toContain("--extra-ldflags=-Qunused-arguments");
  });

  it("gcc gets no clang flags", () => {
    expect(configureArgv(base).some((a) => a.includes("Qunused"))).toBe(false);
  });

  it("joins the targets into one argument", () => {
    expect(configureArgv({ ...base, targets: ["aarch64-softmmu", "x86_64-softmmu"] })[1]).toBe("--target-list=aarch64-softmmu,x86_64-softmmu");
  });

  it("leaves out --disable-download when the tree's configure does not know it", () => {
    expect(configureArgv({ ...base, disableDownload: false })).not.toContain("--disable-download");
  });

  it("appends the extra flags last, each one argument, literally", () => {
    const argv = configureArgv({ ...base, extraArgs: splitConfigureArgs("--foo; rm -rf /tmp/x") });
    expect(argv.slice(-4)).toEqual(["--foo;", "rm", "-rf", "/tmp/x"]);
  });

  const ccs: [string, boolean, string, string][] = [
    ["gcc", false, "gcc", "g++"],
    ["gcc", true, "ccache gcc", "ccache g++"],
    ["clang", false, "clang", "clang++"],
    ["clang", true, "ccache clang", "ccache clang++"],
  ];
  it.each(ccs)("%s with ccache=%s", (compiler, ccache, cc, cxx) => {
    expect(compilerCommands(parseInputs(Inputs, { compiler }).compiler, ccache)).toEqual({ cc, cxx });
  });

  it("rejects another compiler", () => {
    expect(inputErrorOf(() => parseInputs(Inputs, { compiler: "tcc" })).message).toBe('compiler: expected one of "gcc" or "clang", got "tcc".');
  });

  it("detects --disable-download in a configure script", () => {
    expect(supportsDisableDownload('  --disable-download) download="disabled"\n')).toBe(true);
    expect(supportsDisableDownload("  --disable-werror) werror=no\n")).toBe(false);
  });

  it("has subproject work only when there are wrap files", () => {
    expect(hasSubprojectWraps(["libvhost-user", "keycodemapdb.wrap"])).toBe(true);
    expect(hasSubprojectWraps(["libvhost-user", "libvduse"])).toBe(false);
  });
});

describe("names and identity", () => {
  it("reads VERSION", () => {
    expect(parseVersionFile("7.2.22\n")).toBe("7.2.22");
    expect(parseVersionFile("10.2.50\n")).toBe("10.2.50");
    expect(parseVersionFile("9.0.0-rc1")).toBe("9.0.0-rc1");
    expect(() => parseVersionFile("<html>")).toThrow(/not a QEMU VERSION file/);
  });

  it("puts version, label and identity in the prefix and the Store key", () => {
    expect(installName("11.0.0", "vanilla", "0123456789ab")).toBe("11.0.0-vanilla-0123456789ab");
    expect(storeKey("11.0.0", "my-series-v3", "0123456789ab")).toBe("qemu-11.0.0-my-series-v3-0123456789ab");
  });

  const base = { targets: ["x86_64-softmmu"], configureArgs: [] as string[], compiler: "gcc" as const, devshellDrv: "/nix/store/a-build.drv", tree: "f".repeat(40) };
  const id = (over: Partial<typeof base>) => buildIdentity(makeIdentityParts({ ...base, ...over }));

  it("is stable for the same inputs", () => {
    expect(id({})).toBe(id({}));
  });

  const changes: [string, Partial<typeof base>][] = [
    ["configure_args", { configureArgs: ["--disable-werror"] }],
    ["target_list", { targets: ["aarch64-softmmu", "x86_64-softmmu"] }],
    ["compiler", { compiler: "clang" as never }],
    ["dev shell", { devshellDrv: "/nix/store/b-build.drv" }],
    ["source tree", { tree: "e".repeat(40) }],
  ];
  it.each(changes)("changes when %s changes", (_what, over) => {
    expect(id(over)).not.toBe(id({}));
  });

  it("keeps the order of configure flags (a later flag can override an earlier one)", () => {
    expect(id({ configureArgs: ["--enable-a", "--disable-a"] })).not.toBe(id({ configureArgs: ["--disable-a", "--enable-a"] }));
  });
});

describe("make output", () => {
  const lines: [string, { done: number; total: number } | null][] = [
    ["[1/2585] Generating qemu-version.h", { done: 1, total: 2585 }],
    ["[2585/2585] Linking target qemu-system-x86_64", { done: 2585, total: 2585 }],
    ["make: Entering directory", null],
    ["[3/2] bogus", null],
    ["cc -o [1/2]", null],
  ];
  it.each(lines)("progress of %j", (line, p) => {
    expect(ninjaProgress(line)).toEqual(p);
  });

  const werror: [string[], boolean][] = [
    [["../block/curl.c:1:1: error: passing argument 3 makes integer from pointer [-Werror=int-conversion]"], true],
    [["cc1: all warnings being treated as errors"], true],
    [["foo.c:3:7: error: unused variable 'x' [-Werror,-Wunused-variable]"], true],
    [["foo.c:3:7: error: something [-Werror]"], true],
    [["FAILED: libqemuutil.a.p/util_x.c.o", "cc -m64 -Werror -Wall -c util/x.c", "util/x.c:1:10: fatal error: nope.h: No such file or directory"], false],
    [["ninja: build stopped: subcommand failed."], false],
  ];
  it.each(werror)("-Werror failure in %j: %s", (out, yes) => {
    expect(showsWerror(out)).toBe(yes);
  });

  it("advises --disable-werror or a newer ref", () => {
    const msg = werrorAdvice("v9.2.0");
    expect(msg).toContain("-Werror");
    expect(msg).toContain("configure_args: --disable-werror");
    expect(msg).toContain("newer qemu_ref");
  });
});

describe("firmware dirs", () => {
  it("uses only the install's data dir when it has a PC BIOS", () => {
    expect(firmwareDirs({ installDataDir: "/p/share/qemu", installHasBios: true, hostDirs: ["/usr/share/seabios"] })).toEqual(["/p/share/qemu"]);
  });
  it("adds the host's firmware folders after it when it has none", () => {
    expect(firmwareDirs({ installDataDir: "/p/share/qemu", installHasBios: false, hostDirs: ["/usr/share/seabios", "/usr/lib/ipxe/qemu"] })).toEqual([
      "/p/share/qemu",
      "/usr/share/seabios",
      "/usr/lib/ipxe/qemu",
    ]);
  });
});

describe("the as-built manifest", () => {
  const built = {
    identity: "0123456789ab",
    label: "vanilla",
    version: "7.2.22",
    store_key: "qemu-7.2.22-vanilla-0123456789ab",
    prefix: "/w/0/qemu/destdir/7.2.22-vanilla-0123456789ab",
    targets: ["aarch64-softmmu", "x86_64-softmmu"],
    commit: "f".repeat(40),
    ref: "v7.2.22",
  };

  it("describes the install as a manifest the boot flow accepts", () => {
    const m = makeManifest({ ...built, firmwareDirs: [`${built.prefix}/share/qemu`], hasQemuImg: true, builtAt: "2024-01-01T00:00:00Z" });
    expect(QemuManifest.parse(m)).toEqual(m);
    expect(m).toMatchObject({
      method: "make",
      qemu_binary: `${built.prefix}/bin/qemu-system-x86_64`,
      qemu_img: `${built.prefix}/bin/qemu-img`,
      destdir: built.prefix,
      target_list: "aarch64-softmmu,x86_64-softmmu",
      store_path: null,
      reused: false,
    });
  });
});
