import { describe, expect, it } from "vitest";
import { InputError } from "../../f/common/errors.ts";
import { splitArgs } from "../../f/common/pipeline/args.ts";

describe("splitArgs: arguments split without a shell", () => {
  it.each([
    ["", []],
    ["   ", []],
    ["V=1", ["V=1"]],
    ["  V=1   W=2 ", ["V=1", "W=2"]],
    ["KCFLAGS='-O2 -g'", ["KCFLAGS=-O2 -g"]],
    ['KCFLAGS="-O2 -g"', ["KCFLAGS=-O2 -g"]],
    ['A="x\\"y"', ['A=x"y']],
    ["a\\ b", ["a b"]],
    ["''", [""]],
    ["--foo; rm -rf /tmp/x", ["--foo;", "rm", "-rf", "/tmp/x"]],
    ["$(touch /tmp/pwned) `id` | cat > out & *", ["$(touch", "/tmp/pwned)", "`id`", "|", "cat", ">", "out", "&", "*"]],
    ["V=1\nW=2\tX=3", ["V=1", "W=2", "X=3"]],
  ])("%j -> %j", (text, want) => {
    expect(splitArgs(text)).toEqual(want);
  });

  it("treats null and undefined as no arguments", () => {
    expect(splitArgs(null)).toEqual([]);
    expect(splitArgs(undefined)).toEqual([]);
  });

  it("rejects an unclosed quote naming the field", () => {
    expect(() => splitArgs("A='x", "make_args")).toThrow(InputError);
    expect(() => splitArgs("A='x", "make_args")).toThrow(/^make_args: expected arguments with balanced quotes/);
  });
});
