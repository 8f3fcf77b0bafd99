// Everything a run needs resolved before its first step starts: every script the flow can
// run (the failure module's too) exists and has a `main` whose parameters parse_deno
// reads, and every flow its flow modules run, recursively, exists and does not run
// itself. A problem is an InputError (exit 2, nothing ran). A server would find these at
// deploy time (`wmill sync push` refuses a flow whose script is missing); the engine,
// which has no deploy step, finds them here.

import { existsSync } from "node:fs";
import { InputError } from "../../f/common/errors.ts";
import { allModules, findFlow, moduleFile, readFlowFile, type FlowFile, type FlowLocation } from "./flow.ts";
import { mainSignatureOf } from "./params.ts";

/** A script step resolved before the run: its file and main's parameter names (file "" for literal code, parsed when its job is written). */
export interface PreparedStep {
  file: string;
  names: string[];
}

/** A flow resolved before the run: its script steps and, by module id, the flows its flow modules run. */
export interface PreparedFlow {
  location: FlowLocation;
  flow: FlowFile;
  steps: Map<string, PreparedStep>;
  subflows: Map<string, PreparedFlow>;
}

/** A script file's main, or the InputError naming `field` that says why it cannot run. */
export async function prepareScriptFile(file: string, field: string, what: string): Promise<PreparedStep> {
  if (!existsSync(file)) throw new InputError(field, `an existing ${what}`);
  let sig;
  try {
    sig = await mainSignatureOf(file);
  } catch (err) {
    throw new InputError(field, `a script parse_deno can read (${(err as Error).message})`);
  }
  if (!sig.hasMain) throw new InputError(field, `a script that exports an async function main (${file} has none)`);
  return { file, names: sig.names };
}

/** Every script and rawscript module of a flow, resolved. */
export async function prepareSteps(workspace: string, location: FlowLocation, flow: FlowFile): Promise<Map<string, PreparedStep>> {
  const prepared = new Map<string, PreparedStep>();
  for (const m of allModules(flow)) {
    const v = m.value;
    if (v.type !== "script" && v.type !== "rawscript") continue;
    if (v.type === "rawscript" && !/^!inline\s/.test(v.content.trim())) {
      prepared.set(m.id, { file: "", names: [] });
      continue;
    }
    const file = moduleFile(workspace, location.dir, v);
    const what = v.type === "script" ? `script ${v.path} (${file})` : `inline file ${v.content.trim().slice(8)}`;
    prepared.set(m.id, await prepareScriptFile(file, `${location.path} step ${m.id}`, what));
  }
  return prepared;
}

/** A flow and, depth first, every flow its flow modules run, with their scripts. */
export async function prepareFlow(workspace: string, location: FlowLocation, flow: FlowFile, stack: readonly string[] = []): Promise<PreparedFlow> {
  const chain = [...stack, location.path];
  const steps = await prepareSteps(workspace, location, flow);
  const subflows = new Map<string, PreparedFlow>();
  for (const m of allModules(flow)) {
    if (m.value.type !== "flow") continue;
    const field = `${location.path} step ${m.id}`;
    let child: FlowLocation;
    try {
      child = findFlow(workspace, m.value.path);
    } catch (err) {
      throw new InputError(field, `the path of a flow in the workspace (${(err as Error).message.replace(/\.$/, "")})`);
    }
    if (chain.includes(child.path)) {
      throw new InputError(field, `a flow that does not run itself (${[...chain, child.path].join(" -> ")})`);
    }
    subflows.set(m.id, await prepareFlow(workspace, child, readFlowFile(child), chain));
  }
  return { location, flow, steps, subflows };
}

/** Input transforms that name no parameter of main: a worker drops them silently (argsObjToArr), so say so. */
export function unusedInputWarnings(flow: FlowFile, prepared: Map<string, PreparedStep>): string[] {
  const out: string[] = [];
  for (const m of allModules(flow)) {
    const v = m.value;
    if (v.type !== "script" && v.type !== "rawscript") continue;
    const step = prepared.get(m.id);
    if (!step || !step.file) continue;
    for (const key of Object.keys(v.input_transforms ?? {})) {
      if (!step.names.includes(key)) out.push(`step ${m.id}: input ${key} is not a parameter of main (${step.names.join(", ") || "none"}); it is not passed`);
    }
  }
  return out;
}
