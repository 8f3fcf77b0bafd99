import { describe, expect, it } from "vitest";
import { nixAttrName, nixAttrPath, nixString, nixStringList } from "../../f/nix/build/nix_string.ts";

describe("nixString: a value written into Nix stays one string", () => {
  it.each([
    ["plain", '"plain"'],
    ["", '""'],
    ['a"b', '"a\\"b"'],
    ["a\\b", '"a\\\\b"'],
    ["${x}", '"\\${x}"'],
    ["$${x}", '"\\$\\${x}"'],
    ["cost $5", '"cost \\$5"'],
    ["line1\nline2", '"line1\\nline2"'],
    ["cr\rtab\t", '"cr\\rtab\\t"'],
    ["ends with \\", '"ends with \\\\"'],
    ["''${x}", '"\'\'\\${x}"'],
    ["ünïcødé ✓", '"ünïcødé ✓"'],
  ])("%j -> %s", (value, want) => {
    expect(nixString(value)).toBe(want);
  });

  it("never leaves an unescaped quote, dollar or line break inside", () => {
    const hostile = '"; x = ${builtins.abort "boom"}; y = "\n\\"';
    const body = nixString(hostile).slice(1, -1);
    expect(body).not.toMatch(/(^|[^\\])(\\\\)*"/);
    expect(body).not.toMatch(/(^|[^\\])(\\\\)*\$/);
    expect(body).not.toContain("\n");
  });

  it("refuses a NUL, which no Nix string can hold", () => {
    expect(() => nixString("a\0b")).toThrow(/NUL/);
  });
});

describe("nixAttrName: identifiers bare, everything else quoted", () => {
  it.each([
    ["devel", "devel"],
    ["build-tools", "build-tools"],
    ["fstests-src", "fstests-src"],
    ["_x'", "_x'"],
    ["9p", '"9p"'],
    ["with", '"with"'],
    ["or", '"or"'],
    ["a.b", '"a.b"'],
    ['a"${b}', '"a\\"\\${b}"'],
  ])("%j -> %s", (name, want) => {
    expect(nixAttrName(name)).toBe(want);
  });

  it("joins an attribute path", () => {
    expect(nixAttrPath(["nixos-flake", "nixosModules", "profiles", "build-tools"])).toBe("nixos-flake.nixosModules.profiles.build-tools");
  });
});

describe("nixStringList", () => {
  it("writes an empty list inline and others one per line", () => {
    expect(nixStringList([], "  ")).toBe("[ ]");
    expect(nixStringList(["a", 'b"'], "  ")).toBe('[\n    "a"\n    "b\\""\n  ]');
  });
});
