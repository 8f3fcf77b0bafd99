// Windmill conformance of the real workspace (whatever f/ holds today): every flow,
// schedule and trigger passes windmill-yaml-validator and holds no key Windmill does not
// know, `wmill lint` passes, every !inline file and path: script exists, every
// .script.yaml schema is what Windmill infers from main, every input_transforms key is an
// argument (and static values fit it) and every required argument is given, expressions
// read only inputs and steps that exist, imports stay inside f/ and name runtime
// dependencies, every step has its metadata, every folder its folder.meta.yaml, no name
// holds a stray dot, and every module loads under Bun and vitest.
//
// Each check is also run over a small conforming workspace
// (tests/fixtures/windmill-workspace) broken one way at a time, to prove that it fails
// on that breakage: a check that cannot fail proves nothing.

import { readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseDocument, stringify } from "yaml";
import { run } from "../../f/common/run.ts";
import {
  checkDependencyAnnotations,
  checkDeployedFiles,
  checkFileNames,
  checkFlowShape,
  checkFlowWiring,
  checkFolders,
  checkImports,
  checkScheduleTargets,
  checkScriptSchemas,
  checkModulesHaveMetadata,
  checkUnknownKeys,
  checkWmillYaml,
  checkWorkerTags,
  checkYamlValidator,
  listWorkspace,
  parseMain,
  SCHEDULE_ERROR_HANDLER_ARGS,
  type WorkspaceFiles,
} from "../harness/conformance.ts";
import { copyWorkspace, wmillLint, wmillMetadataDryRun } from "../harness/wmill.ts";

const REPO = resolve(import.meta.dirname, "../..");
const GOOD = join(REPO, "tests/fixtures/windmill-workspace");

/** The runtime dependencies the server installs (package.json `dependencies`). */
const DEPENDENCIES = Object.keys((JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {});

type Check = (ws: WorkspaceFiles) => Promise<string[]> | string[];
const checkImportsAgainstPackageJson: Check = (ws) => checkImports(ws, DEPENDENCIES);
const CHECKS: Record<string, Check> = {
  "windmill-yaml-validator": checkYamlValidator,
  "no keys Windmill does not know (the validator lets them pass)": checkUnknownKeys,
  "flow shape and what its expressions read": checkFlowShape,
  "imports (relative with .ts, inside f/, npm packages are dependencies)": checkImportsAgainstPackageJson,
  "flow wiring (!inline files, path scripts, input_transforms)": checkFlowWiring,
  "schedule and trigger targets": checkScheduleTargets,
  ".script.yaml schemas match main": checkScriptSchemas,
  "every module, step or library, has its .script.yaml": checkModulesHaveMetadata,
  "every flow and script carries the worker tag": checkWorkerTags,
  "no module leaves the pinned dependencies (no resolution annotation)": checkDependencyAnnotations,
  "file names": checkFileNames,
  "every file is deployed, and no module looks for files beside itself": checkDeployedFiles,
  "folders have folder.meta.yaml": checkFolders,
  "wmill.yaml": (ws) => checkWmillYaml(ws.root),
};

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
});

/** A copy of what `wmill sync push` reads from a workspace (f/, wmill.yaml, wmill-lock.yaml, dependencies/). */
async function copyOf(src: string): Promise<string> {
  const dir = await copyWorkspace(src);
  temps.push(dir);
  return dir;
}

/** Replace text in a file; fails the test if the text is not there (an edit that does nothing proves nothing). */
async function edit(dir: string, file: string, from: string | RegExp, to: string): Promise<void> {
  const path = join(dir, file);
  const text = await readFile(path, "utf8");
  const next = text.replace(from, to);
  if (next === text) throw new Error(`edit of ${file}: ${String(from)} not found`);
  await writeFile(path, next);
}

/** Change a YAML file structurally. */
async function editYaml(dir: string, file: string, change: (doc: any) => void): Promise<void> {
  const path = join(dir, file);
  const doc = parseDocument(await readFile(path, "utf8")).toJS();
  change(doc);
  await writeFile(path, stringify(doc));
}

async function put(dir: string, file: string, text: string): Promise<void> {
  await mkdir(dirname(join(dir, file)), { recursive: true });
  await writeFile(join(dir, file), text);
}

describe("the real workspace conforms", () => {
  for (const [name, check] of Object.entries(CHECKS)) {
    it(`${name}: no problems in f/`, async () => {
      const ws = await listWorkspace(REPO);
      expect(ws.files.length).toBeGreaterThan(0);
      expect(await check(ws)).toEqual([]);
    });
  }

  it("wmill lint passes (exit 0) from the repository root", async () => {
    const { exitCode, output } = await wmillLint(REPO);
    expect(exitCode, output).toBe(0);
  });

  it("the checks look at every flow, schedule and script metadata file there is", async () => {
    const ws = await listWorkspace(REPO);
    const flows = ws.files.filter((f) => f.endsWith("__flow/flow.yaml"));
    const metas = ws.files.filter((f) => f.endsWith(".script.yaml"));
    // The flows are being written alongside: there is at least one of each.
    expect(flows.length).toBeGreaterThan(0);
    expect(metas.length).toBeGreaterThan(0);
  });
});

describe("every module under f/ loads in both runtimes", () => {
  // Steps run under Bun on the workers and are imported by vitest in tests.
  it("imports cleanly in vitest (Node)", async () => {
    const ws = await listWorkspace(REPO);
    const failures: string[] = [];
    for (const f of ws.files.filter((x) => x.endsWith(".ts"))) {
      try {
        await import(join(REPO, f));
      } catch (err) {
        failures.push(`${f}: ${(err as Error).message.split("\n")[0]}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("imports cleanly under Bun", async () => {
    const ws = await listWorkspace(REPO);
    const failures = await bunImportFailures(ws.files.filter((x) => x.endsWith(".ts")).map((f) => join(REPO, f)));
    expect(failures.map((f) => f.replace(`${REPO}/`, ""))).toEqual([]);
  });

  it("(the Bun check reports a module that does not load)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-bun-import-"));
    temps.push(dir);
    await writeFile(join(dir, "ok.ts"), "export const x = 1;\n");
    await writeFile(join(dir, "broken.ts"), 'import { nothing } from "./missing.ts";\nexport const y = nothing;\n');
    const failures = await bunImportFailures([join(dir, "ok.ts"), join(dir, "broken.ts")]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/broken\.ts: .*missing/);
  });
});

/** Import each file in one Bun process; the files that failed, with the first line of their error. */
async function bunImportFailures(files: string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "kdevflow-bun-import-"));
  temps.push(dir);
  const script = join(dir, "import-all.ts");
  await writeFile(
    script,
    `const failures: string[] = [];
for (const f of ${JSON.stringify(files)}) {
  try { await import(f); } catch (err) { failures.push(f + ": " + String((err as Error).message).split("\\n")[0]); }
}
console.log(JSON.stringify(failures));
process.exit(0);
`,
  );
  const res = await run([join(REPO, "node_modules/.bin/bun"), script], { capture: true, quiet: true });
  return JSON.parse(res.stdout.trim().split("\n").at(-1)!) as string[];
}

describe("a broken copy of the real workspace fails", () => {
  it("when a script a flow calls by path is removed", async () => {
    const dir = await copyOf(REPO);
    const ws = await listWorkspace(dir);
    // Find a path script some flow uses, then delete it.
    let victim: string | undefined;
    for (const f of ws.files.filter((x) => x.endsWith("__flow/flow.yaml"))) {
      const m = /path:\s*(f\/[\w/-]+)/.exec(await readFile(join(dir, f), "utf8"));
      if (m) {
        victim = m[1];
        break;
      }
    }
    expect(victim, "some flow in f/ calls a script by path").toBeDefined();
    await unlink(join(dir, `${victim}.ts`));
    const problems = await checkFlowWiring(await listWorkspace(dir));
    expect(problems.join("\n")).toContain(`script ${victim} does not exist`);
  });

  it("when a .script.yaml loses a property main has", async () => {
    const dir = await copyOf(REPO);
    const ws = await listWorkspace(dir);
    let broken: { file: string; prop: string } | undefined;
    for (const f of ws.files.filter((x) => x.endsWith(".script.yaml"))) {
      const doc = parseDocument(await readFile(join(dir, f), "utf8")).toJS();
      const prop = Object.keys(doc?.schema?.properties ?? {})[0];
      if (prop) {
        broken = { file: f, prop };
        await editYaml(dir, f, (d) => {
          delete d.schema.properties[prop];
        });
        break;
      }
    }
    expect(broken, "some .script.yaml in f/ has a property").toBeDefined();
    const problems = await checkScriptSchemas(await listWorkspace(dir));
    expect(problems.join("\n")).toContain(`${broken!.file}: schema.properties: main's argument ${broken!.prop} is missing`);
  });
});

describe("the refresh schedule's error handler", () => {
  const SCHEDULE = "f/workbench/refresh.schedule.yaml";
  const HANDLER = "f/workbench/report_refresh_failure.ts";

  it("is a script of ours whose main takes exactly what the server passes a schedule error handler", async () => {
    const doc = parseDocument(await readFile(join(REPO, SCHEDULE), "utf8")).toJS();
    expect(doc.on_failure).toBe("script/f/workbench/report_refresh_failure");
    const { args } = parseMain(await readFile(join(REPO, HANDLER), "utf8"));
    expect(args.map((a) => a.name).sort()).toEqual([...SCHEDULE_ERROR_HANDLER_ARGS].sort());
  });

  for (const [name, breakIt, re] of [
    ["on_failure without its kind", (d: string) => edit(d, SCHEDULE, "on_failure: script/", "on_failure: "), /on_failure: expected script\/<path> or flow\/<path>/],
    ["on_failure naming a missing script", (d: string) => unlink(join(d, HANDLER)), /on_failure: script f\/workbench\/report_refresh_failure does not exist/],
    ["a handler taking an input the server does not pass", (d: string) => edit(d, HANDLER, "  email: string = \"\",\n", "  email: string = \"\",\n  channel: string = \"\",\n"), /takes channel, which the server does not pass/],
    ["a handler without an input the server passes", (d: string) => edit(d, HANDLER, "  failed_times: number = 1,\n", ""), /does not take failed_times, which the server passes/],
  ] as const) {
    it(`fails the schedule check: ${name}`, async () => {
      const dir = await copyOf(REPO);
      await breakIt(dir);
      const problems = await checkScheduleTargets(await listWorkspace(dir));
      expect(problems.some((p) => p.startsWith(`${SCHEDULE}: `) && re.test(p)), problems.join("\n")).toBe(true);
    });
  }
});

describe("the conforming test workspace", () => {
  for (const [name, check] of Object.entries(CHECKS)) {
    it(`${name}: passes`, async () => {
      expect(await check(await listWorkspace(GOOD))).toEqual([]);
    });
  }
  it("wmill lint: passes", async () => {
    const { exitCode, output } = await wmillLint(GOOD);
    expect(exitCode, output).toBe(0);
  });
});

interface Breakage {
  name: string;
  check: Check;
  breakIt: (dir: string) => Promise<void>;
  /** A problem line must match this. */
  expect: RegExp;
}

const FLOW = "f/demo/hello__flow/flow.yaml";
const META = "f/demo/greet.script.yaml";

/** A flow that runs f/demo/hello as a `type: flow` module (a sub-flow), added to a copy of the test workspace. */
const CALLER = "f/demo/caller__flow/flow.yaml";
const CALLER_YAML = `summary: Greet through the hello flow
description: Runs f/demo/hello as a flow module and returns its result.
tag: kdevflow
value:
  modules:
    - id: hello
      value:
        type: flow
        path: f/demo/hello
        input_transforms:
          name:
            type: javascript
            expr: flow_input.who
          loud:
            type: static
            value: true
  same_worker: true
schema:
  $schema: https://json-schema.org/draft/2020-12/schema
  type: object
  order:
    - who
  properties:
    who:
      type: string
      description: Who to greet.
  required:
    - who
`;
const addCaller = (d: string) => put(d, CALLER, CALLER_YAML);

const BREAKAGES: Breakage[] = [
  // windmill-yaml-validator
  {
    name: "a flow module of an unknown type",
    check: checkYamlValidator,
    breakIt: (d) => edit(d, FLOW, "type: script\n        path: f/demo/greet", "type: scripty\n        path: f/demo/greet"),
    expect: /^f\/demo\/hello__flow\/flow\.yaml: \/value\/modules\/0/,
  },
  {
    name: "a schedule without its timezone",
    check: checkYamlValidator,
    breakIt: (d) => edit(d, "f/demo/nightly.schedule.yaml", "timezone: UTC\n", ""),
    expect: /nightly\.schedule\.yaml: .*timezone/,
  },
  {
    name: "an http trigger missing its required fields",
    check: checkYamlValidator,
    breakIt: (d) => put(d, "f/demo/hook.http_trigger.yaml", "script_path: f/demo/hello\nis_flow: true\nroute_path: hello\n"),
    expect: /hook\.http_trigger\.yaml: .*http_method/,
  },
  // unknown keys (the validator accepts them)
  ...(
    [
      ["input_transform for input_transforms", (d: string) => edit(d, FLOW, "        input_transforms:\n          name:\n            type: javascript\n            expr: flow_input.name", "        input_transform:\n          name:\n            type: javascript\n            expr: flow_input.name"), /value\.modules\[0\]\.value\.input_transform: not a key Windmill knows/],
      ["a misspelt stop_after_if", (d: string) => editYaml(d, FLOW, (f) => (f.value.modules[0].stop_afer_if = { expr: "true" })), /value\.modules\[0\]\.stop_afer_if: not a key/],
      ["sameworker", (d: string) => edit(d, FLOW, "  same_worker: true\n", "  same_worker: true\n  sameworker: true\n"), /value\.sameworker: not a key/],
      ["a typo deep in a branch's default step", (d: string) => editYaml(d, FLOW, (f) => (f.value.modules[1].value.default[0].value.input_transforms.name.exp = "x")), /value\.modules\[1\]\.value\.default\[0\]\.value\.input_transforms\.name\.exp: not a key/],
      ["a misspelt retry setting", (d: string) => editYaml(d, FLOW, (f) => (f.value.modules[0].retry = { constant: { attempts: 2, secnds: 1 } })), /value\.modules\[0\]\.retry\.constant\.secnds: not a key/],
      ["a typo in a failure module", (d: string) => editYaml(d, FLOW, (f) => (f.value.failure_module.value.langauge = "bun")), /value\.failure_module\.value\.langauge: not a key/],
      ["a misspelt schedule key", (d: string) => edit(d, "f/demo/nightly.schedule.yaml", "is_flow: true\n", "is_flow: true\nno_flow_overlaps: true\n"), /nightly\.schedule\.yaml: no_flow_overlaps: not a key/],
    ] as const
  ).map(([name, breakIt, re]) => ({ name: `unknown keys: ${name}`, check: checkUnknownKeys, breakIt, expect: re })),
  // wiring
  {
    name: "a missing !inline file inside a branch",
    check: checkFlowWiring,
    breakIt: (d) => unlink(join(d, "f/demo/hello__flow/shout.ts")),
    expect: /flow\.yaml: value\.modules\[1\]\.value\.branches\[0\]\.modules\[0\]\.value\.content: the !inline file shout\.ts does not exist/,
  },
  {
    name: "a missing !inline file of the failure module",
    check: checkFlowWiring,
    breakIt: (d) => unlink(join(d, "f/demo/hello__flow/on_failure.ts")),
    expect: /value\.failure_module\.value\.content: the !inline file on_failure\.ts does not exist/,
  },
  {
    name: "a path script that does not exist, in a branchone default",
    check: checkFlowWiring,
    breakIt: (d) => editYaml(d, FLOW, (f) => (f.value.modules[1].value.default[0].value.path = "f/demo/nope")),
    expect: /modules\[1\] \(pick\)\.default\[0\] \(again\): script f\/demo\/nope does not exist/,
  },
  {
    name: "a sub-flow that does not exist",
    check: checkFlowWiring,
    breakIt: (d) => editYaml(d, FLOW, (f) => f.value.modules.push({ id: "sub", value: { type: "flow", path: "f/demo/missing", input_transforms: {} } })),
    expect: /\(sub\): flow "f\/demo\/missing" does not exist/,
  },
  ...(
    [
      ["an input the sub-flow's form lacks", (f: any) => (f.value.modules[0].value.input_transforms.volume = { type: "static", value: 11 }), /caller__flow\/flow\.yaml: modules\[0\] \(hello\): input_transforms\.volume is not an argument of f\/demo\/hello \(it has name, loud\)/],
      ["a required input of the sub-flow not given", (f: any) => delete f.value.modules[0].value.input_transforms.name, /caller__flow\/flow\.yaml: .*\(hello\): f\/demo\/hello requires name, and input_transforms does not give it/],
      ["a static value that does not fit the sub-flow's field", (f: any) => (f.value.modules[0].value.input_transforms.loud.value = "yes"), /\(hello\): input_transforms\.loud: the static value does not fit f\/demo\/hello's loud: expected boolean, got "yes"/],
    ] as const
  ).map(([name, change, re]) => ({
    name: `a flow module: ${name}`,
    check: checkFlowWiring,
    breakIt: async (d: string) => {
      await addCaller(d);
      await editYaml(d, CALLER, change);
    },
    expect: re,
  })),
  {
    name: "a flow module: a static group value with a key the sub-flow's group lacks",
    check: checkFlowWiring,
    breakIt: async (d) => {
      await addCaller(d);
      await editYaml(d, FLOW, (f) => (f.schema.properties.opts = { type: "object", description: "Options.", properties: { depth: { type: "number", description: "How deep." } } }));
      await editYaml(d, CALLER, (f) => (f.value.modules[0].value.input_transforms.opts = { type: "static", value: { depht: 2 } }));
    },
    expect: /input_transforms\.opts: the static value does not fit f\/demo\/hello's opts: depht is not a field of the group \(it has depth\)/,
  },
  {
    name: "an input_transforms key main does not take",
    check: checkFlowWiring,
    breakIt: (d) => editYaml(d, FLOW, (f) => (f.value.modules[0].value.input_transforms.volume = { type: "static", value: 11 })),
    expect: /modules\[0\] \(greet\): input_transforms\.volume is not an argument of f\/demo\/greet/,
  },
  {
    name: "a required argument not given, in a branchone default",
    check: checkFlowWiring,
    breakIt: (d) => editYaml(d, FLOW, (f) => delete f.value.modules[1].value.default[0].value.input_transforms.name),
    expect: /\(again\): f\/demo\/greet requires name, and input_transforms does not give it/,
  },
  {
    name: "a required argument of an inline step not given",
    check: checkFlowWiring,
    breakIt: (d) => editYaml(d, FLOW, (f) => (f.value.modules[1].value.branches[0].modules[0].value.input_transforms = {})),
    expect: /\(shout\): f\/demo\/hello__flow\/shout\.ts requires text/,
  },
  {
    name: "a failure module input its main does not take",
    check: checkFlowWiring,
    breakIt: (d) => edit(d, FLOW, "step_id:\n          type: javascript", "stepid:\n          type: javascript"),
    expect: /failure_module\[0\] \(failure\): input_transforms\.stepid is not an argument/,
  },
  {
    name: "an argument removed from a step's main while the flow still passes it",
    check: checkFlowWiring,
    breakIt: (d) => edit(d, "f/demo/greet.ts", '  mood: "calm" | "glad" = "calm",\n', ""),
    expect: /\(greet\): input_transforms\.mood is not an argument of f\/demo\/greet/,
  },
  {
    name: "a flow.yaml that is not clean YAML (an unquoted !inline tag)",
    check: checkFlowWiring,
    breakIt: (d) => edit(d, FLOW, "content: '!inline shout.ts'", "content: !inline shout.ts"),
    expect: /flow\.yaml: YAML: /,
  },
  // flow shape
  {
    name: "a flow without same_worker",
    check: checkFlowShape,
    breakIt: (d) => edit(d, FLOW, "  same_worker: true\n", "  same_worker: false\n"),
    expect: /flow\.yaml: value\.same_worker: expected true/,
  },
  {
    name: "a flow without a summary",
    check: checkFlowShape,
    breakIt: (d) => edit(d, FLOW, "summary: Greet, then shout\n", ""),
    expect: /flow\.yaml: summary: expected a non-empty string/,
  },
  {
    name: "a form order that misses an input",
    check: checkFlowShape,
    breakIt: (d) => edit(d, FLOW, "  order:\n    - name\n    - loud\n", "  order:\n    - name\n"),
    expect: /flow\.yaml: schema\.order: expected each property once/,
  },
  {
    name: "a required input that is not in the form",
    check: checkFlowShape,
    breakIt: (d) => edit(d, FLOW, "  required:\n    - name\n", "  required:\n    - name\n    - nick\n"),
    expect: /schema\.required: nick is not a property of the form/,
  },
  {
    name: "an inline step in another language than Bun",
    check: checkFlowShape,
    breakIt: (d) => editYaml(d, FLOW, (f) => (f.value.failure_module.value.language = "deno")),
    expect: /failure_module\[0\] \(failure\): language: expected "bun"/,
  },
  {
    name: "two steps with one id",
    check: checkFlowShape,
    breakIt: (d) => edit(d, FLOW, "          - id: again\n", "          - id: greet\n"),
    expect: /step id greet is used twice/,
  },
  {
    name: "an expression reading a flow input that does not exist",
    check: checkFlowShape,
    breakIt: (d) => edit(d, FLOW, "expr: flow_input.loud === true", "expr: flow_input.shout === true"),
    expect: /branches\[0\]\.expr: reads flow_input\.shout, which is not an input of the form/,
  },
  {
    name: "an expression reading the result of a step that does not exist",
    check: checkFlowShape,
    breakIt: (d) => editYaml(d, FLOW, (f) => (f.value.modules[1].value.default[0].value.input_transforms.name.expr = "results.greeting.text")),
    expect: /\(again\): input_transforms\.name: reads results\.greeting, and no step has that id/,
  },
  {
    name: "a stop_after_if reading an unknown result",
    check: checkFlowShape,
    breakIt: (d) => editYaml(d, FLOW, (f) => (f.value.modules[0].stop_after_if = { expr: "results['nothing'] === 1", skip_if_stopped: false })),
    expect: /\(greet\): stop_after_if: reads results\.nothing/,
  },
  {
    name: "a flow input without a description",
    check: checkFlowShape,
    breakIt: (d) => edit(d, FLOW, "      description: Shout the greeting.\n", ""),
    expect: /flow\.yaml: schema\.properties\.loud\.description: every form field needs one/,
  },
  {
    name: "a script field without a description",
    check: checkScriptSchemas,
    breakIt: (d) => edit(d, META, "      description: Who to greet.\n", ""),
    expect: /greet\.script\.yaml: schema\.properties\.name\.description: every form field needs one/,
  },
  // deployed files
  {
    name: "a data file wmill sync push skips",
    check: checkDeployedFiles,
    breakIt: (d) => put(d, "f/demo/data.toml", 'name = "demo"\n'),
    expect: /^f\/demo\/data\.toml: wmill sync push skips this file \(\.toml\)/,
  },
  {
    name: "a module that reads a file beside itself",
    check: checkDeployedFiles,
    breakIt: (d) => put(d, "f/demo/paths.ts", 'import { join } from "node:path";\nexport const DATA = join(import.meta.dirname, "data.toml");\n'),
    expect: /^f\/demo\/paths\.ts:2: finds files relative to the module itself/,
  },
  // folders and wmill.yaml
  {
    name: "a folder without folder.meta.yaml",
    check: checkFolders,
    breakIt: (d) => put(d, "f/other/step.ts", "export const x = 1;\n"),
    expect: /^f\/other: no folder\.meta\.yaml/,
  },
  {
    name: "a folder.meta.yaml without owners",
    check: checkFolders,
    breakIt: (d) => edit(d, "f/demo/folder.meta.yaml", "owners: []\n", ""),
    expect: /folder\.meta\.yaml: owners: expected a list/,
  },
  {
    name: "wmill.yaml without nonDottedPaths",
    check: (ws) => checkWmillYaml(ws.root),
    breakIt: (d) => edit(d, "wmill.yaml", "nonDottedPaths: true", "nonDottedPaths: false"),
    expect: /wmill\.yaml: nonDottedPaths: expected true, got false/,
  },
  // imports
  ...(
    [
      ["a relative import without .ts", 'import { words } from "./words";\n', /greet\.ts: imports \.\/words without the \.ts extension/],
      ["an import of a file that does not exist", 'import { words } from "./wordz.ts";\n', /imports \.\/wordz\.ts, and f\/demo\/wordz\.ts does not exist/],
      ["an import from outside f/", 'import { x } from "../../cli/engine.ts";\n', /imports \.\.\/\.\.\/cli\/engine\.ts, outside f\/ \(Windmill syncs only f\/\)/],
      ["an npm package that is not a runtime dependency", 'import { describe } from "vitest";\n', /imports vitest, and vitest is not a dependency in package\.json/],
      ["a scoped npm package that is not a dependency", 'import TOML from "@iarna/tomlx";\n', /@iarna\/tomlx is not a dependency/],
    ] as const
  ).map(([name, line, re]) => ({
    name: `imports: ${name}`,
    check: checkImportsAgainstPackageJson,
    breakIt: async (d: string) => {
      const path = join(d, "f/demo/greet.ts");
      await writeFile(path, line + (await readFile(path, "utf8")));
    },
    expect: re,
  })),
  {
    name: "a static value outside the target's choices",
    check: checkFlowWiring,
    breakIt: (d) => edit(d, FLOW, "            type: static\n            value: glad", "            type: static\n            value: angry"),
    expect: /\(greet\): input_transforms\.mood: the static value does not fit f\/demo\/greet's mood: expected one of \["calm","glad"\], got "angry"/,
  },
  {
    name: "a static value of the wrong type",
    check: checkFlowWiring,
    breakIt: (d) => editYaml(d, FLOW, (f) => (f.value.modules[0].value.input_transforms.times = { type: "static", value: "twice" })),
    expect: /input_transforms\.times: the static value does not fit f\/demo\/greet's times: expected number, got "twice"/,
  },
  {
    name: "a static list with an item outside the choices",
    check: checkFlowWiring,
    breakIt: (d) => editYaml(d, FLOW, (f) => (f.value.modules[0].value.input_transforms.tags = { type: "static", value: ["a", "z"] })),
    expect: /input_transforms\.tags: .*an item: expected one of \["a","b"\], got "z"/,
  },
  {
    name: "a flow form default of the wrong type",
    check: checkFlowWiring,
    breakIt: (d) => edit(d, FLOW, "      default: false\n", "      default: \"no\"\n"),
    expect: /flow\.yaml: schema\.properties\.loud\.default: expected boolean, got "no"/,
  },
  // schedules
  {
    name: "a schedule argument of the wrong type",
    check: checkScheduleTargets,
    breakIt: (d) => edit(d, "f/demo/nightly.schedule.yaml", "  name: night\n", "  name: 42\n"),
    expect: /nightly\.schedule\.yaml: args\.name: does not fit f\/demo\/hello's name: expected string, got 42/,
  },
  {
    name: "a schedule of a flow that does not exist",
    check: checkScheduleTargets,
    breakIt: (d) => edit(d, "f/demo/nightly.schedule.yaml", "script_path: f/demo/hello", "script_path: f/demo/gone"),
    expect: /nightly\.schedule\.yaml: script_path: flow "f\/demo\/gone" does not exist/,
  },
  {
    name: "a schedule giving an input the flow does not have",
    check: checkScheduleTargets,
    breakIt: (d) => edit(d, "f/demo/nightly.schedule.yaml", "  name: night", "  name: night\n  colour: blue"),
    expect: /args\.colour is not an input of f\/demo\/hello/,
  },
  {
    name: "a schedule not giving a required input",
    check: checkScheduleTargets,
    breakIt: (d) => edit(d, "f/demo/nightly.schedule.yaml", "args:\n  name: night\n", "args: {}\n"),
    expect: /f\/demo\/hello requires name, and args does not give it/,
  },
  // schemas
  ...(
    [
      ["a property of the wrong type", "    times:\n      type: number", "    times:\n      type: string", /schema\.properties\.times: main gives/],
      ["a wrong default", "      default: 2\n", "      default: 3\n", /schema\.properties\.times: main gives \{"type":"number","default":2\}, the file says \{"type":"number","default":3\}/],
      ["a missing default", "      default: calm\n", "", /schema\.properties\.mood: main gives/],
      ["an enum that lost a choice", "        - calm\n        - glad\n", "        - calm\n", /schema\.properties\.mood: main gives/],
      ["array items of another type", "    extra:\n      type: array\n      items:\n        type: string", "    extra:\n      type: array\n      items:\n        type: number", /schema\.properties\.extra: main gives/],
      ["multiselect items that lost a choice", "          - a\n          - b\n", "          - a\n", /schema\.properties\.tags: main gives/],
      ["a nested property of the wrong type", "        depth:\n          type: number", "        depth:\n          type: string", /schema\.properties\.opts: main gives/],
      ["an optional argument listed as required", "  required:\n    - name\n", "  required:\n    - name\n    - loud\n", /schema\.required: main gives \["name"\], the file says \["loud","name"\]/],
      ["a required argument not listed as required", "  required:\n    - name\n", "  required: []\n", /schema\.required: main gives \["name"\]/],
      ["an order that differs from main's", "    - name\n    - times\n", "    - times\n    - name\n", /schema\.order: main's arguments are in the order/],
      ["a property main does not have", "  properties:\n", "  properties:\n    ghost:\n      type: string\n", /schema\.properties\.ghost: main has no argument ghost/],
      ["kind not script", "kind: script", "kind: flow", /greet\.script\.yaml: kind: expected "script"/],
    ] as const
  ).map(([name, from, to, re]) => ({ name: `.script.yaml: ${name}`, check: checkScriptSchemas, breakIt: (d: string) => edit(d, META, from, to), expect: re })),
  {
    name: "main gains an argument the .script.yaml lacks",
    check: checkScriptSchemas,
    breakIt: (d) => edit(d, "f/demo/greet.ts", "  name: string,\n", "  name: string,\n  extra_arg: string,\n"),
    expect: /greet\.script\.yaml: schema\.properties: main's argument extra_arg is missing/,
  },
  {
    name: "main uses a named type (Windmill would show a resource picker)",
    check: checkScriptSchemas,
    breakIt: async (d) => {
      await edit(d, "f/demo/greet.ts", "export async function main(", "type Opts = { depth: number; note?: string };\nexport async function main(");
      await edit(d, "f/demo/greet.ts", "opts: { depth: number; note?: string } =", "opts: Opts =");
    },
    expect: /main's argument opts has a named or record type/,
  },
  {
    name: "a .script.yaml without its script",
    check: checkScriptSchemas,
    breakIt: (d) => cp(join(d, META), join(d, "f/demo/orphan.script.yaml")),
    expect: /orphan\.script\.yaml: there is no orphan\.ts beside it/,
  },
  // every module needs metadata (wmill sync push writes it into the checkout otherwise)
  {
    name: "a step (a .ts with main) without .script.yaml",
    check: checkModulesHaveMetadata,
    breakIt: (d) => put(d, "f/demo/lonely.ts", "export async function main(x: string) {\n  return x;\n}\n"),
    expect: /^f\/demo\/lonely\.ts: a step without lonely\.script\.yaml \(wmill sync push would write one/,
  },
  {
    name: "a library (no main) without .script.yaml",
    check: checkModulesHaveMetadata,
    breakIt: (d) => unlink(join(d, "f/demo/words.script.yaml")),
    expect: /^f\/demo\/words\.ts: a library without words\.script\.yaml/,
  },
  // dependency resolution annotations
  ...(
    [
      ["// npm (installs with npm)", "f/demo/words.ts", "// npm\n", /words\.ts: the leading comment line "\/\/ npm" is a Windmill annotation/],
      ["// package_json: other (another dependency file)", "f/demo/greet.ts", "// package_json: other\n", /greet\.ts: the leading comment line "\/\/ package_json: other"/],
      ["//nodejs in an inline flow step", "f/demo/hello__flow/shout.ts", "//nodejs\n", /hello__flow\/shout\.ts: the leading comment line "\/\/nodejs"/],
    ] as const
  ).map(([name, file, line, re]) => ({
    name: `annotations: ${name}`,
    check: checkDependencyAnnotations,
    breakIt: async (d: string) => writeFile(join(d, file), line + (await readFile(join(d, file), "utf8"))),
    expect: re,
  })),
  // the worker tag
  {
    name: "a flow without the worker tag",
    check: checkWorkerTags,
    breakIt: (d) => edit(d, FLOW, "tag: kdevflow\n", ""),
    expect: /hello__flow\/flow\.yaml: tag: expected "kdevflow"/,
  },
  {
    name: "a script with another worker tag",
    check: checkWorkerTags,
    breakIt: (d) => edit(d, META, "tag: kdevflow\n", "tag: gpu\n"),
    expect: /greet\.script\.yaml: tag: expected "kdevflow" .*got "gpu"/,
  },
  {
    name: "a library's .script.yaml without the worker tag",
    check: checkWorkerTags,
    breakIt: (d) => edit(d, "f/demo/words.script.yaml", "tag: kdevflow\n", ""),
    expect: /words\.script\.yaml: tag: expected "kdevflow"/,
  },
  {
    name: "a misspelt flow-level key beside the tag (tags:)",
    check: checkUnknownKeys,
    breakIt: (d) => edit(d, FLOW, "tag: kdevflow\n", "tags: kdevflow\n"),
    expect: /hello__flow\/flow\.yaml: tags: not a key Windmill knows/,
  },
  // names
  ...(
    [
      ["a test file inside f/", "f/demo/greet.test.ts", /greet\.test\.ts: a name may hold only its extension/],
      ["a dotted step name", "f/demo/prepare.worktree.ts", /prepare\.worktree\.ts: a name may hold only its extension/],
      ["a dotted folder", "f/demo/v1.2/x.ts", /the folder v1\.2 has a dot/],
      ["a hidden file", "f/demo/.keep", /\.keep: a name may hold only its extension/],
      ["a dotted flow folder", "f/demo/a.b__flow/flow.yaml", /the folder a\.b__flow has a dot/],
    ] as const
  ).map(([name, file, re]) => ({ name: `file names: ${name}`, check: checkFileNames, breakIt: (d: string) => put(d, file, "\n"), expect: re })),
];

describe("each check fails on a broken copy of the test workspace", () => {
  for (const b of BREAKAGES) {
    it(b.name, async () => {
      const dir = await copyOf(GOOD);
      await b.breakIt(dir);
      const problems = await b.check(await listWorkspace(dir));
      expect(problems.some((p) => b.expect.test(p)), `no problem matched ${b.expect}; got:\n${problems.join("\n")}`).toBe(true);
    });
  }

  it("a flow module (type: flow) passes every check and wmill lint: the validator knows it", async () => {
    const dir = await copyOf(GOOD);
    await addCaller(dir);
    const ws = await listWorkspace(dir);
    expect(ws.files).toContain(CALLER);
    for (const [name, check] of Object.entries(CHECKS)) expect(await check(ws), name).toEqual([]);
    const { exitCode, output } = await wmillLint(dir);
    expect(exitCode, output).toBe(0);
  });

  it("a flow module may leave out a required input of the sub-flow that has a default; a free-form group takes any keys", async () => {
    const dir = await copyOf(GOOD);
    await addCaller(dir);
    await editYaml(dir, FLOW, (f) => {
      f.schema.required = ["name", "loud"];
      f.schema.properties.extra = { type: "object", description: "Free JSON." };
    });
    await editYaml(dir, CALLER, (f) => {
      delete f.value.modules[0].value.input_transforms.loud;
      f.value.modules[0].value.input_transforms.extra = { type: "static", value: { any: 1 } };
    });
    expect(await checkFlowWiring(await listWorkspace(dir))).toEqual([]);
  });

  it("a description-only change is not a schema problem (descriptions aside, as long as there is one)", async () => {
    const dir = await copyOf(GOOD);
    await edit(dir, META, "description: Who to greet.", "description: Whom to greet, reworded.");
    expect(await checkScriptSchemas(await listWorkspace(dir))).toEqual([]);
  });

  it("(why the unknown-key check exists: the validator and wmill lint let a misspelt stop_after_if or transform key through)", async () => {
    const dir = await copyOf(GOOD);
    await editYaml(dir, FLOW, (f) => {
      f.value.modules[0].stop_afer_if = { expr: "true" };
      f.value.modules[1].value.default[0].value.input_transforms.name.exp = "x";
    });
    expect(await checkYamlValidator(await listWorkspace(dir))).toEqual([]);
    expect((await wmillLint(dir)).exitCode).toBe(0);
    expect(await checkUnknownKeys(await listWorkspace(dir))).not.toEqual([]);
  });

  it("wmill lint exits non-zero on a flow with a module of an unknown type", async () => {
    const dir = await copyOf(GOOD);
    await edit(dir, FLOW, "type: script\n        path: f/demo/greet", "type: scripty\n        path: f/demo/greet");
    const { exitCode, output } = await wmillLint(dir);
    expect(exitCode, output).not.toBe(0);
  });
});

// What `wmill sync push` reads and writes: every module's metadata committed, and
// wmill-lock.yaml current, so the CLI's own metadata check (the one a developer runs
// before a push) finds nothing stale and a push writes nothing into the checkout. The
// check is run by the real CLI (tests/harness/wmill.ts says how it runs offline).
describe("wmill generate-metadata --dry-run: nothing stale, nothing written", () => {
  it("in the real workspace", async () => {
    const res = await wmillMetadataDryRun(REPO);
    expect(res.exitCode, res.output).toBe(0);
    expect(res.stale, res.output).toEqual([]);
    expect(res.written).toEqual([]);
    expect(res.upToDate, res.output).toBe(true);
  });

  it("in the test workspace (scripts, a library, inline flow steps)", async () => {
    const res = await wmillMetadataDryRun(GOOD);
    expect(res.stale, res.output).toEqual([]);
    expect(res.written).toEqual([]);
    expect(res.upToDate, res.output).toBe(true);
  });

  it("reports a script whose code changed since wmill-lock.yaml was written", async () => {
    const dir = await copyOf(GOOD);
    await edit(dir, "f/demo/greet.ts", "export async function main(", "// A new comment.\nexport async function main(");
    const res = await wmillMetadataDryRun(dir);
    expect(res.upToDate).toBe(false);
    expect(res.stale.join("\n")).toMatch(/~ f\/demo\/greet\.ts/);
  });

  it("reports an inline flow step that changed", async () => {
    const dir = await copyOf(GOOD);
    await edit(dir, "f/demo/hello__flow/shout.ts", "toUpperCase()", "toUpperCase().trim()");
    const res = await wmillMetadataDryRun(dir);
    expect(res.stale.join("\n")).toMatch(/hello__flow/);
  });

  it("reports the workspace dependencies when dependencies/package.json changed", async () => {
    const dir = await copyOf(REPO);
    await edit(dir, "dependencies/package.json", /"zod": "[^"]+"/, '"zod": "4.0.0"');
    const res = await wmillMetadataDryRun(dir);
    expect(res.stale.join("\n")).toMatch(/~ dependencies\/package\.json/);
  });

  it("writes a .script.yaml and a .script.lock for a library without metadata, as a push would", async () => {
    const dir = await copyOf(GOOD);
    await unlink(join(dir, "f/demo/words.script.yaml"));
    const res = await wmillMetadataDryRun(dir);
    expect(res.written).toEqual(["f/demo/words.script.lock: created", "f/demo/words.script.yaml: created"]);
  });
});

describe("scripts/deploy-metadata.ts", () => {
  const BUN = join(REPO, "node_modules/.bin/bun");
  const TOOL = join(REPO, "scripts/deploy-metadata.ts");

  it("finds dependencies/package.json and wmill-lock.yaml current in the real workspace", async () => {
    const res = await run([BUN, TOOL], { capture: true, quiet: true, allowFailure: true, cwd: REPO });
    expect(res.exitCode, res.stdout).toBe(0);
  });

  it("names a stale wmill-lock.yaml with exit 1, and --write makes the CLI's check pass again", async () => {
    const dir = await copyOf(GOOD);
    await edit(dir, "f/demo/words.ts", "export function words", "// Split on blanks.\nexport function words");
    const check = await run([BUN, TOOL, "--workspace", dir], { capture: true, quiet: true, allowFailure: true });
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toContain("wmill-lock.yaml: differs from what the workspace gives");
    await run([BUN, TOOL, "--write", "--workspace", dir], { capture: true, quiet: true });
    const res = await wmillMetadataDryRun(dir);
    expect(res.stale, res.output).toEqual([]);
    expect(res.upToDate).toBe(true);
  });

  it("refuses to write wmill-lock.yaml while a module has no metadata, naming the file the CLI would write", async () => {
    const dir = await copyOf(GOOD);
    await unlink(join(dir, "f/demo/words.script.yaml"));
    const res = await run([BUN, TOOL, "--write", "--workspace", dir], { capture: true, quiet: true, allowFailure: true });
    expect(res.exitCode).not.toBe(0);
    expect(`${res.stdout}${res.stderr}`).toMatch(/f\/demo\/words\.script\.yaml: created/);
  });
});

describe("scripts/script-schema.ts", () => {
  const BUN = join(REPO, "node_modules/.bin/bun");
  const TOOL = join(REPO, "scripts/script-schema.ts");

  it("reports a stale schema with exit 1, and --write makes it match main, keeping the descriptions", async () => {
    const dir = await copyOf(GOOD);
    const step = join(dir, "f/demo/greet.ts");
    await edit(dir, "f/demo/greet.ts", "  name: string,\n", '  name: string,\n  colour: "red" | "blue" = "red",\n');
    await edit(dir, META, "      default: 2\n", "      default: 5\n");
    expect(await checkScriptSchemas(await listWorkspace(dir))).not.toEqual([]);

    const check = await run([BUN, TOOL, step], { capture: true, quiet: true, allowFailure: true });
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toContain("main's argument colour is missing");

    const written = await run([BUN, TOOL, "--write", step], { capture: true, quiet: true });
    expect(written.stdout).toContain("greet.script.yaml: fill in schema.properties.colour.description");
    // Only the new field's description is left to write.
    expect(await checkScriptSchemas(await listWorkspace(dir))).toEqual([
      `${META}: schema.properties.colour.description: every form field needs one (the form shows it under the field)`,
    ]);
    const meta = parseDocument(await readFile(join(dir, META), "utf8")).toJS();
    expect(meta.summary).toBe("Greet someone");
    expect(meta.schema.properties.name.description).toBe("Who to greet.");
    expect(meta.schema.properties.colour).toEqual({ type: "string", originalType: "enum", enum: ["red", "blue"], default: "red", description: "" });
    expect(meta.schema.order[1]).toBe("colour");

    const undescribedLeft = await run([BUN, TOOL, step], { capture: true, quiet: true, allowFailure: true });
    expect(undescribedLeft.exitCode).toBe(1);
    await edit(dir, META, '      description: ""', "      description: The colour.");
    const again = await run([BUN, TOOL, step], { capture: true, quiet: true, allowFailure: true });
    expect(again.exitCode, again.stdout).toBe(0);
    expect(await checkScriptSchemas(await listWorkspace(dir))).toEqual([]);
  });

  it("--write creates the .script.yaml of a new step", async () => {
    const dir = await copyOf(GOOD);
    await put(dir, "f/demo/fresh.ts", "export async function main(path: string, count: number = 1) {\n  return { path, count };\n}\n");
    const res = await run([BUN, TOOL, "--write", join(dir, "f/demo/fresh.ts")], { capture: true, quiet: true });
    expect(res.stdout).toContain("fresh.script.yaml: fill in summary, description, schema.properties.path.description, schema.properties.count.description");
    const ws = await listWorkspace(dir);
    expect(await checkModulesHaveMetadata(ws)).toEqual([]);
    expect(await checkWorkerTags(ws)).toEqual([]);
    // The schema is right; what is left is prose for a person to write.
    expect(await checkScriptSchemas(ws)).toEqual(
      ["path", "count"].map((n) => `f/demo/fresh.script.yaml: schema.properties.${n}.description: every form field needs one (the form shows it under the field)`),
    );
    const meta = parseDocument(await readFile(join(dir, "f/demo/fresh.script.yaml"), "utf8")).toJS();
    expect(meta).toMatchObject({ lock: "", kind: "script", tag: "kdevflow", schema: { order: ["path", "count"], required: ["path"] } });
    expect(meta.schema.properties.count).toMatchObject({ type: "number", default: 1 });
  });

  it("--write creates a library's .script.yaml from its leading comment, with no form field", async () => {
    const dir = await copyOf(GOOD);
    await put(dir, "f/demo/tally.ts", "// Counting words. The first sentence is the summary.\n// The whole comment is the description.\n\nexport const tally = (s: string) => s.length;\n");
    const res = await run([BUN, TOOL, "--write", join(dir, "f/demo/tally.ts")], { capture: true, quiet: true });
    expect(res.stdout).toContain("tally.script.yaml: created");
    expect(res.stdout).not.toContain("fill in");
    const ws = await listWorkspace(dir);
    for (const check of [checkModulesHaveMetadata, checkScriptSchemas, checkWorkerTags]) expect(await check(ws)).toEqual([]);
    const meta = parseDocument(await readFile(join(dir, "f/demo/tally.script.yaml"), "utf8")).toJS();
    expect(meta).toMatchObject({
      summary: "Counting words.",
      description: "Counting words. The first sentence is the summary. The whole comment is the description.",
      lock: "",
      kind: "script",
      tag: "kdevflow",
      schema: { type: "object", properties: {}, required: [] },
    });
  });

  it("--write adds only the tag line to a .script.yaml whose schema already matches", async () => {
    const dir = await copyOf(GOOD);
    const before = await readFile(join(dir, META), "utf8");
    await edit(dir, META, "tag: kdevflow\n", "");
    await run([BUN, TOOL, "--write", join(dir, "f/demo/greet.ts")], { capture: true, quiet: true });
    expect(await readFile(join(dir, META), "utf8")).toBe(before);
  });
});

describe("scripts/script-schema.ts --all", () => {
  it("checks every module under the real f/, steps and libraries, and finds them all matching", async () => {
    const res = await run([join(REPO, "node_modules/.bin/bun"), join(REPO, "scripts/script-schema.ts"), "--all"], { capture: true, quiet: true, allowFailure: true, cwd: REPO });
    expect(res.exitCode, res.stdout).toBe(0);
    const metas = (await listWorkspace(REPO)).files.filter((f) => f.endsWith(".script.yaml"));
    const lines = res.stdout.trim().split("\n");
    expect(lines.map((l) => l.replace(/: matches (main|the library)$/, "")).sort()).toEqual(metas.sort());
    expect(lines.filter((l) => l.endsWith(": matches the library")).length, "libraries have metadata too").toBeGreaterThan(0);
  });
});
