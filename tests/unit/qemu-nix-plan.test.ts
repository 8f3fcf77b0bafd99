import { describe, expect, it } from "vitest";
import { isInputError } from "../../f/common/errors.ts";
import { nixPackagePlan, overrideExpr, parseQemuVersionOutput, targetsFromBinaries } from "../../f/qemu/build/nix_plan.ts";

const COMMIT = "1aa24bbb2e826b4f4404d80deb3a61bdd5a10f87";

describe("nixPackagePlan", () => {
  it("builds the flake's package as an installable", () => {
    expect(nixPackagePlan({ source: "flake", flake: "path:/lib", system: "x86_64-linux" })).toEqual({
      what: "path:/lib#qemu",
      expr: null,
      evalArgs: ["eval", "--raw"],
      drvPathArgs: ["path:/lib#packages.x86_64-linux.qemu.drvPath"],
      buildArgs: ["build", "--no-link", "--json", "path:/lib#packages.x86_64-linux.qemu"],
    });
  });

  it("overrides src and version for qemu_ref, impurely (getFlake of a path, fetchGit of the Bare)", () => {
    const p = nixPackagePlan({ source: "qemu_ref", flake: "path:/lib", system: "x86_64-linux", bare: "/sys/bare/qemu.git", commit: COMMIT, version: "11.0.0" });
    expect(p.expr).toBe(
      'let qemu = (builtins.getFlake "path:/lib").packages.x86_64-linux.qemu; in qemu.overrideAttrs (old: { ' +
        'version = "11.0.0"; src = builtins.fetchGit { url = "file:///sys/bare/qemu.git"; rev = "' + COMMIT + '"; allRefs = true; }; })',
    );
    expect(p.evalArgs).toEqual(["eval", "--raw", "--impure"]);
    expect(p.drvPathArgs).toEqual(["--expr", `(${p.expr}).drvPath`]);
    expect(p.buildArgs).toEqual(["build", "--impure", "--no-link", "--json", "--expr", p.expr]);
  });

  it("keeps a hostile path a string literal", () => {
    const e = overrideExpr({ flake: 'path:/x"; builtins.abort "y', system: "x86_64-linux", bare: "/b/${x}", commit: COMMIT, version: "1.0.0" });
    expect(e).toContain('builtins.getFlake "path:/x\\"; builtins.abort \\"y"');
    expect(e).toContain('"file:///b/\\${x}"');
  });

  const bad: [Record<string, unknown>, RegExp][] = [
    [{ bare: "", commit: COMMIT, version: "1.0.0" }, /^bare: /],
    [{ bare: "rel/qemu.git", commit: COMMIT, version: "1.0.0" }, /^bare: /],
    [{ bare: "/b", commit: "v1.0", version: "1.0.0" }, /^commit: /],
    [{ bare: "/b", commit: COMMIT, version: null }, /^version: /],
  ];
  it.each(bad)("refuses %j for qemu_ref", (over, re) => {
    try {
      nixPackagePlan({ source: "qemu_ref", flake: "path:/lib", system: "x86_64-linux", ...over } as never);
      throw new Error("no error");
    } catch (err) {
      expect(isInputError(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
    }
  });
});

describe("reading a package", () => {
  it.each([
    ["QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright (c) 2003-2022", "7.2.22"],
    ["QEMU emulator version 11.0.0\n", "11.0.0"],
    ["QEMU emulator version 9.0.0-rc1", "9.0.0-rc1"],
  ])("version of %j", (out, v) => {
    expect(parseQemuVersionOutput(out)).toBe(v);
  });
  it("refuses output without a version", () => {
    expect(() => parseQemuVersionOutput("qemu: command not found")).toThrow(/cannot read a QEMU version/);
  });
  it("derives the targets and the emulator from bin/", () => {
    expect(targetsFromBinaries(["qemu-img", "qemu-system-x86_64", "qemu-system-aarch64", "qemu-io"])).toEqual({
      list: "aarch64-softmmu,x86_64-softmmu",
      emulator: "qemu-system-x86_64",
    });
    expect(targetsFromBinaries(["qemu-img"])).toEqual({ list: "", emulator: null });
  });
});
