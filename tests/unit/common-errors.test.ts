// InputError: one sentence naming the field, what was expected and what was given.

import { describe, expect, it } from "vitest";
import { describeValue, InputError, inputErrorMessage, isInputError } from "../../f/common/errors.ts";

describe("inputErrorMessage", () => {
  it.each([
    ["qemu_ref", "a branch, tag or commit", undefined, "qemu_ref: expected a branch, tag or commit."],
    ["compiler", "gcc or clang", "icc", 'compiler: expected gcc or clang, got "icc".'],
    ["jobs", "a whole number from 1 to 64", 0, "jobs: expected a whole number from 1 to 64, got 0."],
    ["reuse", "true or false", null, "reuse: expected true or false, got null."],
    ["targets", "a list of targets", ["a", "b"], "targets: expected a list of targets, got an array of 2."],
    ["opts", "an object", { a: 1 }, "opts: expected an object, got object."],
    ["flag", "false", true, "flag: expected false, got true."],
    ["name", "a name.", undefined, "name: expected a name."],
  ])("%s / %s / %j", (field, expected, got, message) => {
    expect(inputErrorMessage(field, expected, got)).toBe(message);
  });

  it("shortens a long value to 80 characters", () => {
    const shown = describeValue("x".repeat(200));
    expect(shown).toBe(JSON.stringify(`${"x".repeat(77)}...`));
  });

  it("is one sentence: no line breaks even for values holding them", () => {
    expect(inputErrorMessage("label", "a short label", "two\nlines")).not.toContain("\n");
  });
});

describe("InputError", () => {
  it("carries the field and expectation and is recognised as bad input", () => {
    const err = new InputError("target_list", "QEMU targets of this tree", "arm-softmmu");
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("InputError");
    expect(err.field).toBe("target_list");
    expect(err.expected).toBe("QEMU targets of this tree");
    expect(err.message).toBe('target_list: expected QEMU targets of this tree, got "arm-softmmu".');
    expect(isInputError(err)).toBe(true);
  });

  it("isInputError is false for other failures", () => {
    expect(isInputError(new Error("make failed"))).toBe(false);
    expect(isInputError({ name: "InputError", message: "not an Error" })).toBe(false);
    expect(isInputError(undefined)).toBe(false);
  });

  it("isInputError accepts an InputError from another copy of the module (name check)", () => {
    const foreign = new Error("x: expected y.");
    foreign.name = "InputError";
    expect(isInputError(foreign)).toBe(true);
  });
});
