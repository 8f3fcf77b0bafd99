// The kdevflow command line (cli/args.ts): commands, options, --set pairs, --input text.

import { describe, expect, it } from "vitest";
import { parseArgs, parseInputJson, parseSetPair, type Command } from "../../cli/args.ts";

describe("parseArgs accepts", () => {
  const cases: Array<[string, string[], Command]> = [
    ["nothing: help", [], { kind: "help" }],
    ["--help", ["--help"], { kind: "help" }],
    ["-h", ["-h"], { kind: "help" }],
    ["help run", ["help", "run"], { kind: "help", topic: "run" }],
    ["run --help", ["run", "--help"], { kind: "help", topic: "run" }],
    ["run f --help (help wins)", ["run", "f/a/b", "--set", "x=1", "--help"], { kind: "help", topic: "run" }],
    ["show -h", ["show", "-h"], { kind: "help", topic: "show" }],
    ["list --help", ["list", "--help"], { kind: "help", topic: "list" }],
    ["list", ["list"], { kind: "list" }],
    ["list --workspace DIR", ["list", "--workspace", "/w"], { kind: "list", workspace: "/w" }],
    ["--workspace before the command", ["--workspace=/w", "list"], { kind: "list", workspace: "/w" }],
    ["show", ["show", "f/qemu/build"], { kind: "show", path: "f/qemu/build" }],
    ["run with nothing else", ["run", "f/qemu/build"], { kind: "run", path: "f/qemu/build", api: false, sets: [] }],
    [
      "run with every option",
      ["run", "f/qemu/build", "--set", "a=1", "--set=b.c=x=y", "--input", "in.json", "--output=out.json", "--workspace", "/w"],
      { kind: "run", path: "f/qemu/build", api: false, sets: [["a", "1"], ["b.c", "x=y"]], input: "in.json", output: "out.json", workspace: "/w" },
    ],
    ["run --api", ["run", "--api", "f/qemu/build", "--set", "a=1"], { kind: "run", path: "f/qemu/build", api: true, sets: [["a", "1"]] }],
    ["options before the flow", ["run", "--set", "a=", "f/x/y"], { kind: "run", path: "f/x/y", api: false, sets: [["a", ""]] }],
    ["-- ends options", ["run", "--", "f/x/y"], { kind: "run", path: "f/x/y", api: false, sets: [] }],
    ["--input - (stdin)", ["run", "f/x/y", "--input", "-"], { kind: "run", path: "f/x/y", api: false, sets: [], input: "-" }],
    ["schedule run", ["schedule", "run", "f/workbench/refresh"], { kind: "schedule", path: "f/workbench/refresh" }],
    ["schedule run with --output", ["schedule", "run", "f/a/b", "--output", "o.json", "--workspace=/w"], { kind: "schedule", path: "f/a/b", output: "o.json", workspace: "/w" }],
    ["schedule --help", ["schedule", "--help"], { kind: "help", topic: "schedule" }],
  ];
  it.each(cases)("%s", (_name, argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });
});

describe("parseArgs refuses bad usage with one sentence", () => {
  const cases: Array<[string, string[], string]> = [
    ["unknown command", ["frob"], 'command "frob": expected one of run, schedule, list, show, help.'],
    ["unknown global option", ["--verbose", "run"], "--verbose: expected a command (run, schedule, list, show) or --help."],
    ["unknown run option", ["run", "f/x/y", "--sett", "a=1"], "kdevflow run --sett: expected an option of kdevflow run (--api, --set, --input, --output, --workspace or --help)."],
    ["--api with a value", ["run", "f/x/y", "--api=yes"], "--api=yes: expected --api without a value."],
    ["schedule without run", ["schedule", "f/a/b"], "kdevflow schedule f/a/b: expected run <schedule path>, e.g. kdevflow schedule run f/workbench/refresh."],
    ["schedule run without a path", ["schedule", "run"], "kdevflow schedule run: expected a schedule path, e.g. f/workbench/refresh."],
    ["schedule run with two paths", ["schedule", "run", "f/a/b", "f/c/d"], "kdevflow schedule run f/c/d: expected one schedule path only (a schedule runs with its own args)."],
    ["--set on schedule run", ["schedule", "run", "f/a/b", "--set", "a=1"], "kdevflow schedule --set: expected an option of kdevflow schedule (--output, --workspace or --help)."],
    ["--set on list", ["list", "--set", "a=1"], "kdevflow list --set: expected an option of kdevflow list (--workspace or --help)."],
    ["run without a flow", ["run"], "kdevflow run: expected a flow or script path, e.g. f/qemu/build (see kdevflow list)."],
    ["show without a flow", ["show"], "kdevflow show: expected a flow or script path, e.g. f/qemu/build (see kdevflow list)."],
    ["two flows", ["run", "f/a/b", "x=1"], "kdevflow run x=1: expected one path only (inputs are given with --set key=value)."],
    ["list with an argument", ["list", "f/a"], "kdevflow list f/a: expected no arguments (only --workspace)."],
    ["--set without a value", ["run", "f/a/b", "--set"], "--set: expected a value after it."],
    ["--set without =", ["run", "f/a/b", "--set", "name"], "--set name: expected key=value (for example --set qemu_ref=v7.2.0)."],
    ["--set with an empty key", ["run", "f/a/b", "--set", "=1"], "--set =1: expected key=value (for example --set qemu_ref=v7.2.0)."],
    ["help on an unknown topic", ["help", "frob"], "help frob: expected one of run, schedule, list, show."],
  ];
  it.each(cases)("%s", (_name, argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe("parseSetPair", () => {
  it.each([
    ["a=1", ["a", "1"]],
    ["a=", ["a", ""]],
    ["a.b=c=d", ["a.b", "c=d"]],
    ["label= spaced ", ["label", " spaced "]],
  ] as Array<[string, [string, string]]>)("%s", (text, pair) => {
    expect(parseSetPair(text)).toEqual(pair);
  });
});

describe("parseInputJson", () => {
  it("returns the object", () => {
    expect(parseInputJson('{"a": {"b": 1}}', "in.json")).toEqual({ a: { b: 1 } });
  });
  it.each([
    ["malformed", '{"a": 1,', /^--input in\.json: expected a file holding a JSON object, but it is not valid JSON \(.+\)\.$/],
    ["empty", "", /^--input in\.json: expected a file holding a JSON object, but it is not valid JSON \(.+\)\.$/],
    ["a list", "[1]", /^--input in\.json: expected a file holding a JSON object of inputs, got an array of 1\.$/],
    ["a string", '"x"', /^--input in\.json: expected a file holding a JSON object of inputs, got "x"\.$/],
    ["null", "null", /^--input in\.json: expected a file holding a JSON object of inputs, got null\.$/],
  ])("refuses %s", (_name, text, message) => {
    expect(() => parseInputJson(text, "in.json")).toThrow(message);
  });
});
