// Bad usage and bad input: one clear sentence on stderr, exit status 2, and nothing run
// (no fixture step leaves its marker, nothing on stdout).

import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kdevflow, tempDir } from "./engine-helpers.ts";

const scratch = tempDir("kdevflow-engine-bad-");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const malformed = join(scratch, "malformed.json");
writeFileSync(malformed, '{"name": "x",\n');
const notAnObject = join(scratch, "list.json");
writeFileSync(notAnObject, "[1, 2]");

const cases: Array<[string, string[], RegExp]> = [
  ["an unknown flow path (suggests the closest)", ["run", "f/engine/nestd"], /^path f\/engine\/nestd: expected the path of a flow or script in the workspace \(did you mean f\/engine\/nested\?\)\.$/],
  ["an unknown script path (suggests the closest)", ["run", "f/engine/tools/greeet"], /^path f\/engine\/tools\/greeet: expected the path of a flow or script in the workspace \(did you mean f\/engine\/tools\/greet\?\)\.$/],
  ["an unknown flow path far from any (points to the list)", ["run", "f/zzz/qqqqqqqqqqqq"], /^path f\/zzz\/qqqqqqqqqqqq: expected the path of a flow or script in the workspace \(run `kdevflow list` to see all 27\)\.$/],
  ["a missing required input", ["run", "f/engine/nested"], /^name: expected a value \(this input is required and has no default\)\.$/],
  ["a wrong enum value", ["run", "f/engine/nested", "--set", "name=a", "--set", "mode=medium"], /^mode: expected one of "fast" or "slow", got "medium"\.$/],
  ["a wrong multiselect item", ["run", "f/engine/nested", "--set", "name=a", "--set", 'targets=["x86_64-softmmu","mips"]'], /^targets\[1\]: expected one of "x86_64-softmmu", "aarch64-softmmu" or "riscv64-softmmu", got "mips"\.$/],
  ["--set of an unknown field", ["run", "f/engine/nested", "--set", "name=a", "--set", "nmae=b"], /^--set nmae: expected one of the flow's inputs \(name, mode, .*\); there is no such field\.$/],
  ["--set of an unknown nested field", ["run", "f/engine/nested", "--set", "name=a", "--set", "build.job=3"], /^--set build\.job: expected one of the fields of build \(jobs, ccache\); there is no such field\.$/],
  ["an unknown field in --input", ["run", "f/engine/nested", "--input", "-"], /^colour: expected one of the flow's inputs \(.*\); there is no such field\.$/],
  ["malformed JSON in --input", ["run", "f/engine/nested", "--input", malformed], /^--input .*malformed\.json: expected a file holding a JSON object, but it is not valid JSON \(.+\)\.$/],
  ["--input that is not an object", ["run", "f/engine/nested", "--input", notAnObject], /^--input .*list\.json: expected a file holding a JSON object of inputs, got an array of 2\.$/],
  ["--input that does not exist", ["run", "f/engine/nested", "--input", join(scratch, "nope.json")], /^--input .*nope\.json: expected a file holding a JSON object, but the file does not exist\.$/],
  ["a value over maxLength", ["run", "f/engine/nested", "--set", "name=abcdefghijklmnop"], /^name: expected at most 12 characters, got "abcdefghijklmnop"\.$/],
  ["a value not matching the pattern", ["run", "f/engine/nested", "--set", "name=Bad Name"], /^name: expected a string matching \/\^\[a-z0-9-\]\+\$\/, got "Bad Name"\.$/],
  ["a wrong type in a nested group", ["run", "f/engine/nested", "--set", "name=a", "--set", "build.jobs=many"], /^build\.jobs: expected an integer, got "many"\.$/],
  ["--set without =", ["run", "f/engine/nested", "--set", "name"], /^--set name: expected key=value \(for example --set qemu_ref=v7\.2\.0\)\.$/],
  ["an unknown option", ["run", "f/engine/nested", "--frobnicate"], /^kdevflow run --frobnicate: expected an option of kdevflow run \(--api, --set, --input, --output, --workspace or --help\)\.$/],
  ["an unknown command", ["frob"], /^command "frob": expected one of run, schedule, list, show, help\.$/],
  ["run without a flow", ["run"], /^kdevflow run: expected a flow or script path, e\.g\. f\/qemu\/build \(see kdevflow list\)\.$/],
  ["a flow path that escapes the workspace", ["run", "../etc/x"], /^path "\.\.\/etc\/x": expected a flow or script path like f\/<folder>\/<name>\.$/],
  ["KDEVFLOW_SLOT_LOCK that is neither on nor off", ["run", "f/engine/nested", "--set", "name=a"], /^KDEVFLOW_SLOT_LOCK: expected on or off, got "maybe"\.$/],
  ["--output that is a folder", ["run", "f/engine/nested", "--set", "name=a", "--output", "/tmp"], /^--output \/tmp: expected a file path, but it is a folder\.$/],
  ["show of an unknown flow", ["show", "f/engine/nope"], /^path f\/engine\/nope: expected the path of a flow or script in the workspace/],
];

describe("bad input exits 2 with one sentence and runs nothing", () => {
  it.each(cases)("%s", async (_name, args, sentence) => {
    const run = await kdevflow(args, { stdin: '{"name": "ok", "colour": "red"}', env: { KDEVFLOW_SLOT_LOCK: "maybe" } });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]!.replace(/^kdevflow: /, "")).toMatch(sentence);
    expect(run.ran).toEqual({});
    expect(run.stderr).not.toContain("==> step");
  });

  it("a flow whose script is missing is refused before any step runs", async () => {
    const ws = tempDir("kdevflow-broken-ws-");
    try {
      const { mkdirSync, cpSync } = await import("node:fs");
      const { FIXTURE_WORKSPACE } = await import("./engine-helpers.ts");
      cpSync(join(FIXTURE_WORKSPACE, "f"), join(ws, "f"), { recursive: true });
      mkdirSync(join(ws, "f/engine/broken__flow"));
      writeFileSync(
        join(ws, "f/engine/broken__flow/flow.yaml"),
        [
          "summary: second step's script is missing",
          "value:",
          "  modules:",
          "    - id: first",
          "      value: {type: script, path: f/engine/steps/echo, input_transforms: {label: {type: static, value: first}}}",
          "    - id: second",
          "      value: {type: script, path: f/engine/steps/missing, input_transforms: {}}",
          "schema: {type: object, properties: {}, required: []}",
        ].join("\n"),
      );
      const run = await kdevflow(["run", "f/engine/broken"], { workspace: ws });
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toMatch(/f\/engine\/broken step second: expected an existing script f\/engine\/steps\/missing/);
      expect(run.ran).toEqual({});

      // A flow.yaml that is not YAML: refused the same way; list still lists it.
      mkdirSync(join(ws, "f/engine/garbled__flow"));
      writeFileSync(join(ws, "f/engine/garbled__flow/flow.yaml"), "summary: x\nvalue:\n  modules: [\n");
      const garbled = await kdevflow(["run", "f/engine/garbled"], { workspace: ws });
      expect(garbled.code).toBe(2);
      expect(garbled.stderr.trim()).toMatch(/^kdevflow: f\/engine\/garbled flow\.yaml: expected valid YAML \(.+\)\.$/);
      expect(garbled.ran).toEqual({});
      const list = await kdevflow(["list"], { workspace: ws });
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^f\/engine\/garbled +\(flow\.yaml is not valid YAML\)$/m);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
