// The kdevflow command line, parsed into a plain command object. Pure: no files read.
// Bad usage raises an InputError naming the option, which the CLI maps to exit status 2.

import { InputError } from "../f/common/errors.ts";

export type Topic = "run" | "list" | "show" | "schedule";

export type Command =
  | { kind: "help"; topic?: Topic }
  | { kind: "list"; workspace?: string }
  | { kind: "show"; path: string; workspace?: string }
  | {
      kind: "run";
      /** A flow or a script. */
      path: string;
      /** Start it as the API does (nothing filled, nothing checked) instead of as the web form. */
      api: boolean;
      sets: Array<[string, string]>;
      input?: string;
      output?: string;
      workspace?: string;
    }
  | { kind: "schedule"; path: string; output?: string; workspace?: string };

export const USAGE: Record<"main" | Topic, string> = {
  main: `kdevflow: run kdevflow's Windmill flows and scripts on this machine, as a Windmill server would, without one.

Usage:
  kdevflow run [--api] <flow or script> [--set key=value]... [--input FILE.json] [--output FILE] [--workspace DIR]
  kdevflow schedule run <schedule> [--output FILE] [--workspace DIR]
  kdevflow list [--workspace DIR]
  kdevflow show <flow or script> [--workspace DIR]
  kdevflow <command> --help

A flow is named by its Windmill path, e.g. f/qemu/build (the folder f/qemu/build__flow);
a script by its path too, e.g. f/pipeline/publish (the file f/pipeline/publish.ts); a schedule
likewise, e.g. f/workbench/refresh (f/workbench/refresh.schedule.yaml).
The workspace is the repository by default; --workspace DIR or KDEVFLOW_WORKSPACE change it.

Exit status: 0 success, 1 the run failed, 2 bad usage or bad input (nothing was run).
`,
  run: `Usage: kdevflow run [--api] <flow or script> [--set key=value]... [--input FILE.json] [--output FILE] [--workspace DIR]

Run a flow as the Windmill web form starts it: the inputs are checked against the
flow's form and its defaults filled. With --api, start it as \`wmill flow run -d\` and the
API do: the inputs as given, nothing filled, nothing checked. A script runs as
\`wmill script run\` does (always as the API). Each step runs as its own Bun process; the
result is printed as JSON on stdout, progress and the steps' logs on stderr.

  --api             start the run as the API does, not as the web form.
  --set key=value   set one input; repeat for more. key may be dotted for a field of a
                    group (build.jobs=4). value is read as JSON when it parses, and by the
                    field's type: a text field keeps the text as written, a list field
                    takes a JSON list or one item (--set target_list=x86_64-softmmu).
  --input FILE      read inputs from a JSON object in FILE ('-' for stdin); --set wins.
  --output FILE     also write the result (JSON) to FILE, atomically, on success.
  --workspace DIR   the Windmill workspace to read flows from (default: the repository).

Exit status: 0 success (or stopped early by stop_after_if), 1 the run failed,
2 bad usage or bad input (nothing was run), or a step raised an InputError.
`,
  schedule: `Usage: kdevflow schedule run <schedule> [--output FILE] [--workspace DIR]

Run a schedule's flow (or script) once, now, with exactly the schedule's args, as the
server does when the schedule falls due: nothing filled, nothing checked.

Exit status: as for kdevflow run.
`,
  list: `Usage: kdevflow list [--workspace DIR]

List every flow of the workspace (folders f/**/<name>__flow), then every script (a .ts
with its .script.yaml) and schedule (<name>.schedule.yaml), with their summaries.
`,
  show: `Usage: kdevflow show <flow or script> [--workspace DIR]

Show a flow's (or a script's) form as text: its fields in order, their types, defaults,
choices, descriptions, nested groups, and when a field is shown.
`,
};

const COMMANDS = ["run", "schedule", "list", "show", "help"] as const;
const TOPICS: readonly Topic[] = ["run", "schedule", "list", "show"];

/** Split `--opt=value` / `--opt value`; returns the value and how many argv items it used. */
function optionValue(argv: readonly string[], i: number, name: string): [string, number] {
  const arg = argv[i]!;
  if (arg.startsWith(`${name}=`)) return [arg.slice(name.length + 1), 1];
  const next = argv[i + 1];
  if (next === undefined) throw new InputError(name, "a value after it");
  return [next, 2];
}

/** `key=value` of a --set; the key is everything before the first `=`. */
export function parseSetPair(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new InputError(`--set ${text}`, "key=value (for example --set qemu_ref=v7.2.0)");
  return [text.slice(0, eq).trim(), text.slice(eq + 1)];
}

export function parseArgs(argv: readonly string[]): Command {
  const rest = [...argv];
  let workspace: string | undefined;
  // Options valid before the command: --workspace, --help.
  while (rest.length && rest[0]!.startsWith("-")) {
    const a = rest[0]!;
    if (a === "-h" || a === "--help") return { kind: "help" };
    if (a === "--workspace" || a.startsWith("--workspace=")) {
      const [v, used] = optionValue(rest, 0, "--workspace");
      workspace = v;
      rest.splice(0, used);
      continue;
    }
    throw new InputError(a, `a command (${TOPICS.join(", ")}) or --help`);
  }
  const cmd = rest.shift();
  if (cmd === undefined) return { kind: "help" };
  if (!(COMMANDS as readonly string[]).includes(cmd)) {
    throw new InputError(`command ${JSON.stringify(cmd)}`, `one of ${COMMANDS.join(", ")}`);
  }
  if (cmd === "help") {
    const topic = rest[0];
    if (topic === undefined) return { kind: "help" };
    if ((TOPICS as readonly string[]).includes(topic)) return { kind: "help", topic: topic as Topic };
    throw new InputError(`help ${topic}`, `one of ${TOPICS.join(", ")}`);
  }
  const topic = cmd as Topic;
  const positional: string[] = [];
  const sets: Array<[string, string]> = [];
  let input: string | undefined;
  let output: string | undefined;
  let api = false;
  const options: Record<Topic, string[]> = {
    run: ["--api", "--set", "--input", "--output", "--workspace"],
    schedule: ["--output", "--workspace"],
    list: ["--workspace"],
    show: ["--workspace"],
  };
  for (let i = 0; i < rest.length; ) {
    const a = rest[i]!;
    if (a === "-h" || a === "--help") return { kind: "help", topic };
    if (a === "--") {
      positional.push(...rest.slice(i + 1));
      break;
    }
    const opt = a.startsWith("--") ? a.split("=")[0]! : a.startsWith("-") && a.length > 1 ? a : "";
    if (!opt) {
      positional.push(a);
      i++;
      continue;
    }
    if (!options[topic].includes(opt)) {
      const known = [...options[topic], "--help"];
      throw new InputError(`kdevflow ${topic} ${opt}`, `an option of kdevflow ${topic} (${known.slice(0, -1).join(", ")} or ${known[known.length - 1]})`);
    }
    if (opt === "--api") {
      if (a !== "--api") throw new InputError(a, "--api without a value");
      api = true;
      i++;
      continue;
    }
    const [v, used] = optionValue(rest, i, opt);
    if (opt === "--workspace") workspace = v;
    else if (opt === "--set") sets.push(parseSetPair(v));
    else if (opt === "--input") input = v;
    else output = v;
    i += used;
  }
  const ws = workspace === undefined ? {} : { workspace };
  const out = output === undefined ? {} : { output };
  if (topic === "list") {
    if (positional.length) throw new InputError(`kdevflow list ${positional[0]}`, "no arguments (only --workspace)");
    return { kind: "list", ...ws };
  }
  if (topic === "schedule") {
    const [action, path, extra] = positional;
    if (action !== "run") throw new InputError(`kdevflow schedule${action === undefined ? "" : ` ${action}`}`, "run <schedule path>, e.g. kdevflow schedule run f/workbench/refresh");
    if (path === undefined) throw new InputError("kdevflow schedule run", "a schedule path, e.g. f/workbench/refresh");
    if (extra !== undefined) throw new InputError(`kdevflow schedule run ${extra}`, "one schedule path only (a schedule runs with its own args)");
    return { kind: "schedule", path, ...out, ...ws };
  }
  if (positional.length === 0) throw new InputError(`kdevflow ${topic}`, "a flow or script path, e.g. f/qemu/build (see kdevflow list)");
  if (positional.length > 1) {
    throw new InputError(`kdevflow ${topic} ${positional[1]}`, "one path only (inputs are given with --set key=value)");
  }
  const path = positional[0]!;
  if (topic === "show") return { kind: "show", path, ...ws };
  return { kind: "run", path, api, sets, ...(input === undefined ? {} : { input }), ...out, ...ws };
}

/** The inputs in an --input file's text, or the sentence that says why they are not. */
export function parseInputJson(text: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = firstSentence((err as Error).message);
    throw new InputError(`--input ${name}`, `a file holding a JSON object, but it is not valid JSON (${why})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError(`--input ${name}`, "a file holding a JSON object of inputs", value);
  }
  return value as Record<string, unknown>;
}

function firstSentence(s: string): string {
  return (s.split("\n")[0] ?? s).replace(/\.$/, "");
}
