// The kdevflow command line, parsed into a plain command object. Pure: no files read.
// Bad usage raises an InputError naming the option, which the CLI maps to exit status 2.

import { InputError } from "../f/common/errors.ts";

export type Command =
  | { kind: "help"; topic?: "run" | "list" | "show" }
  | { kind: "list"; workspace?: string }
  | { kind: "show"; flow: string; workspace?: string }
  | {
      kind: "run";
      flow: string;
      sets: Array<[string, string]>;
      input?: string;
      output?: string;
      workspace?: string;
    };

export const USAGE: Record<"main" | "run" | "list" | "show", string> = {
  main: `kdevflow: run kdevflow's Windmill flows on this machine, without a Windmill server.

Usage:
  kdevflow run <flow> [--set key=value]... [--input FILE.json] [--output FILE] [--workspace DIR]
  kdevflow list [--workspace DIR]
  kdevflow show <flow> [--workspace DIR]
  kdevflow <command> --help

A flow is named by its Windmill path, e.g. f/qemu/build (the folder f/qemu/build__flow).
The workspace is the repository by default; --workspace DIR or KDEVFLOW_WORKSPACE change it.

Exit status: 0 success, 1 the flow failed, 2 bad usage or bad input (nothing was run).
`,
  run: `Usage: kdevflow run <flow> [--set key=value]... [--input FILE.json] [--output FILE] [--workspace DIR]

Run a flow: check its inputs against the flow's form, fill the defaults, run each step
as its own Bun process and print the flow result as JSON on stdout. Progress and the
steps' logs go to stderr.

  --set key=value   set one input; repeat for more. key may be dotted for a field of a
                    group (build.jobs=4). value is read as JSON when it parses, and by the
                    field's type: a text field keeps the text as written, a list field
                    takes a JSON list or one item (--set target_list=x86_64-softmmu).
  --input FILE      read inputs from a JSON object in FILE ('-' for stdin); --set wins.
  --output FILE     also write the flow result (JSON) to FILE, atomically, on success.
  --workspace DIR   the Windmill workspace to read flows from (default: the repository).

Exit status: 0 success (or stopped early by stop_after_if), 1 the flow failed,
2 bad usage or bad input (nothing was run), or a step raised an InputError.
`,
  list: `Usage: kdevflow list [--workspace DIR]

List every flow of the workspace (folders f/**/<name>__flow) with its summary.
`,
  show: `Usage: kdevflow show <flow> [--workspace DIR]

Show a flow's form as text: its fields in order, their types, defaults, choices,
descriptions, nested groups, and when a field is shown.
`,
};

const COMMANDS = ["run", "list", "show", "help"] as const;

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
    throw new InputError(a, "a command (run, list, show) or --help");
  }
  const cmd = rest.shift();
  if (cmd === undefined) return { kind: "help" };
  if (!(COMMANDS as readonly string[]).includes(cmd)) {
    throw new InputError(`command ${JSON.stringify(cmd)}`, "one of run, list, show, help");
  }
  if (cmd === "help") {
    const topic = rest[0];
    if (topic === undefined) return { kind: "help" };
    if (topic === "run" || topic === "list" || topic === "show") return { kind: "help", topic };
    throw new InputError(`help ${topic}`, "one of run, list, show");
  }
  const topic = cmd as "run" | "list" | "show";
  const positional: string[] = [];
  const sets: Array<[string, string]> = [];
  let input: string | undefined;
  let output: string | undefined;
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
    if (opt === "--workspace") {
      const [v, used] = optionValue(rest, i, opt);
      workspace = v;
      i += used;
    } else if (topic === "run" && opt === "--set") {
      const [v, used] = optionValue(rest, i, opt);
      sets.push(parseSetPair(v));
      i += used;
    } else if (topic === "run" && opt === "--input") {
      const [v, used] = optionValue(rest, i, opt);
      input = v;
      i += used;
    } else if (topic === "run" && opt === "--output") {
      const [v, used] = optionValue(rest, i, opt);
      output = v;
      i += used;
    } else {
      const known = topic === "run" ? "--set, --input, --output, --workspace or --help" : "--workspace or --help";
      throw new InputError(`kdevflow ${topic} ${opt}`, `an option of kdevflow ${topic} (${known})`);
    }
  }
  const ws = workspace === undefined ? {} : { workspace };
  if (topic === "list") {
    if (positional.length) throw new InputError(`kdevflow list ${positional[0]}`, "no arguments (only --workspace)");
    return { kind: "list", ...ws };
  }
  if (positional.length === 0) throw new InputError(`kdevflow ${topic}`, "a flow path, e.g. f/qemu/build (see kdevflow list)");
  if (positional.length > 1) {
    throw new InputError(`kdevflow ${topic} ${positional[1]}`, "one flow path only (inputs are given with --set key=value)");
  }
  const flow = positional[0]!;
  if (topic === "show") return { kind: "show", flow, ...ws };
  return {
    kind: "run",
    flow,
    sets,
    ...(input === undefined ? {} : { input }),
    ...(output === undefined ? {} : { output }),
    ...ws,
  };
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
