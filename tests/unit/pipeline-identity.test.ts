import { describe, expect, it } from "vitest";
import { buildIdentity, canonicalIdentityText, isIdentity } from "../../f/common/pipeline/identity.ts";

describe("buildIdentity", () => {
  const base = { config: "abc", compiler: "gcc", make_args: ["V=1"], arch: "x86_64", devshell: "/nix/store/x.drv", tree: "1234" };

  it("is 12 lowercase hex digits", () => {
    expect(buildIdentity(base)).toMatch(/^[0-9a-f]{12}$/);
    expect(isIdentity(buildIdentity(base))).toBe(true);
  });

  it("does not depend on the order keys were given in", () => {
    const reversed = Object.fromEntries(Object.entries(base).reverse());
    expect(buildIdentity(reversed)).toBe(buildIdentity(base));
  });

  it.each([
    ["config", { config: "abd" }],
    ["compiler", { compiler: "clang" }],
    ["make_args", { make_args: ["V=2"] }],
    ["arch", { arch: "arm64" }],
    ["devshell", { devshell: "/nix/store/y.drv" }],
    ["tree", { tree: "1235" }],
  ])("changes when %s changes", (_name, change) => {
    expect(buildIdentity({ ...base, ...change })).not.toBe(buildIdentity(base));
  });

  it("keeps the order of array parts (argument order matters)", () => {
    expect(buildIdentity({ a: ["x", "y"] })).not.toBe(buildIdentity({ a: ["y", "x"] }));
  });

  it("cannot be fooled by moving text between a key and its value or between array items", () => {
    expect(buildIdentity({ "a=b": "c" })).not.toBe(buildIdentity({ a: "b=c" }));
    expect(buildIdentity({ a: ["x,y"] })).not.toBe(buildIdentity({ a: ["x", "y"] }));
    expect(buildIdentity({ a: "x" })).not.toBe(buildIdentity({ a: ["x"] }));
    expect(buildIdentity({ a: "", b: "x" })).not.toBe(buildIdentity({ a: "x", b: "" }));
  });

  it("has a stable, versioned encoding", () => {
    expect(canonicalIdentityText({ b: "2", a: ["1"] })).toBe('kdevflow-identity-v1\n"a"=["1"]\n"b"="2"\n');
    // A known value pins the hash function itself (sha256, first 12 hex digits).
    expect(buildIdentity({})).toBe("599363eb0ce2");
  });

  it("rejects values that are not strings", () => {
    expect(() => buildIdentity({ a: 1 as unknown as string })).toThrow(/must be a string/);
  });
});
