#!/usr/bin/env bun
// kdevflow: run the workspace's flows, scripts and schedules locally, as a Windmill server would.
// Started by the ./kdevflow launcher with the repository's Bun. See docs/local-runner.md.
//
// stdout carries only the flow result (JSON); progress, step logs and errors go to stderr.
// Exit status: 0 success, 1 failed flow, 2 bad usage or bad input (nothing ran).

import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { writeFileAtomic } from "../f/common/atomic.ts";
import { withLock } from "../f/common/lock.ts";
import { InputError, isInputError } from "../f/common/errors.ts";
import { parseArgs, parseInputJson, USAGE, type Command } from "./args.ts";
import { runFlow, runScript, type FlowOutcome, type RunContext } from "./engine/executor.ts";
import { readFlowFile, readFlowSummary } from "./engine/flow.ts";
import { renderForm } from "./engine/form.ts";
import { runInputs, type InputMode } from "./engine/inputs.ts";
import { installStopHandlers, removeStaleRunDirs } from "./engine/lifetime.ts";
import { prepareFlow, prepareScriptFile } from "./engine/prepare.ts";
import { RunFolders } from "./engine/run_folders.ts";
import { findRunnable, listRunnables, readSchedule, type Runnable } from "./engine/runnable.ts";
import { slotLock, slotLockEnabled } from "./engine/slot.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "..");

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_BAD_INPUT = 2;

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

function workspaceOf(cmd: { workspace?: string }): string {
  const ws = resolve(cmd.workspace ?? (process.env.KDEVFLOW_WORKSPACE || REPO_ROOT));
  if (!existsSync(ws) || !statSync(ws).isDirectory()) {
    throw new InputError(`workspace ${ws}`, "a folder holding a Windmill workspace (f/...)");
  }
  return ws;
}

/** The Bun that runs each step: the one running this CLI, else the repository's, else PATH. */
function bunBinary(): string {
  if (process.versions.bun) return process.execPath;
  const local = resolve(REPO_ROOT, "node_modules/.bin/bun");
  return existsSync(local) ? local : "bun";
}

function readInputFile(name: string): Record<string, unknown> {
  let text: string;
  try {
    text = name === "-" ? readFileSync(0, "utf8") : readFileSync(name, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "the file does not exist" : (e as Error).message;
    throw new InputError(`--input ${name}`, `a file holding a JSON object, but ${why}`);
  }
  return parseInputJson(text, name);
}

/** Refuse an --output the result could not be written to, before anything runs. */
function checkOutputPath(name: string): string {
  const path = isAbsolute(name) ? name : resolve(name);
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new InputError(`--output ${name}`, "a file path, but it is a folder");
  }
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir); // the nearest folder that exists must be writable
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new InputError(`--output ${name}`, `a path in a folder you can write to (${dir} is not writable)`);
  }
  return path;
}

/** Everything a run shares: the engine's environment is what jobs' environments are built from. */
function runContext(folders: RunFolders, workspace: string, schedulePath?: string): RunContext {
  return { workspace, bun: bunBinary(), env: process.env, log: err, folders, ...(schedulePath ? { schedulePath } : {}) };
}

/**
 * Run a flow or a script with these arguments, once everything it needs is resolved,
 * holding the worker slot unless KDEVFLOW_SLOT_LOCK=off; print the result and map the
 * outcome to an exit status.
 */
async function execute(target: Runnable, ctx: RunContext, args: Record<string, unknown>, outputName: string | undefined): Promise<number> {
  const output = outputName === undefined ? undefined : checkOutputPath(outputName);
  for (const line of await removeStaleRunDirs()) err(`kdevflow: removed the run folder a killed run left: ${line}`);
  let start: () => Promise<FlowOutcome>;
  let holdsSlot: boolean;
  if (target.kind === "flow") {
    const prepared = await prepareFlow(ctx.workspace, target.location, readFlowFile(target.location));
    start = () => runFlow(ctx, prepared, args);
    holdsSlot = prepared.flow.value.same_worker === true;
  } else {
    const { path, file } = target.script;
    const step = await prepareScriptFile(file, `script ${path}`, `script ${path} (${file})`);
    start = () => runScript(ctx, path, step, args);
    holdsSlot = true;
  }
  const slot = holdsSlot && slotLockEnabled() ? slotLock() : null;
  const outcome = slot ? await withLock(slot.path, { what: slot.what, log: (line) => err(`kdevflow: ${line}`) }, start) : await start();
  const json = `${JSON.stringify(outcome.result ?? null, null, 2)}\n`;
  process.stdout.write(json);
  if (outcome.status === "failure") {
    const e = outcome.error;
    if (e) err(`kdevflow: ${e.step_id ? `step ${e.step_id}` : "the run"} failed: ${e.name ?? "Error"}: ${String(e.message ?? "").split("\n")[0]}`);
    else err(`kdevflow: the run failed: ${JSON.stringify(outcome.result)}`);
    if (output) err(`kdevflow: ${outputName} not written (the run failed)`);
    return e?.name === "InputError" ? EXIT_BAD_INPUT : EXIT_FAILED;
  }
  if (output) {
    try {
      await writeFileAtomic(output, json);
    } catch (e) {
      err(`kdevflow: the run succeeded but ${outputName} could not be written: ${(e as Error).message}`);
      return EXIT_FAILED;
    }
  }
  return EXIT_OK;
}

async function runCommand(cmd: Extract<Command, { kind: "run" }>, folders: RunFolders): Promise<number> {
  const workspace = workspaceOf(cmd);
  const target = findRunnable(workspace, cmd.path);
  // A script runs as `wmill script run` has it run: as the API, with no form in between.
  const mode: InputMode = cmd.api || target.kind === "script" ? "api" : "form";
  const schema = target.kind === "flow" ? readFlowFile(target.location).schema : target.script.schema;
  const base = cmd.input === undefined ? {} : readInputFile(cmd.input);
  const args = runInputs(mode, schema, { base, sets: cmd.sets, given: cmd.input !== undefined || cmd.sets.length > 0 });
  return execute(target, runContext(folders, workspace), args, cmd.output);
}

async function scheduleCommand(cmd: Extract<Command, { kind: "schedule" }>, folders: RunFolders): Promise<number> {
  const workspace = workspaceOf(cmd);
  const schedule = readSchedule(workspace, cmd.path);
  let target: Runnable;
  try {
    target = findRunnable(workspace, schedule.target);
  } catch (e) {
    throw new InputError(`schedule ${schedule.path} script_path`, `the path of a ${schedule.isFlow ? "flow" : "script"} in the workspace, but ${(e as Error).message.replace(/\.$/, "")}`);
  }
  if ((target.kind === "flow") !== schedule.isFlow) {
    throw new InputError(`schedule ${schedule.path} is_flow`, `${target.kind === "flow"} (${schedule.target} is a ${target.kind})`, schedule.isFlow);
  }
  return execute(target, runContext(folders, workspace, schedule.path), schedule.args, cmd.output);
}

async function main(argv: readonly string[], folders: RunFolders): Promise<number> {
  const cmd = parseArgs(argv);
  switch (cmd.kind) {
    case "help":
      process.stdout.write(USAGE[cmd.topic ?? "main"]);
      return EXIT_OK;
    case "list": {
      const all = listRunnables(workspaceOf(cmd), readFlowSummary);
      const width = Math.max(0, ...all.map((r) => r.path.length));
      for (const r of all) process.stdout.write(`${r.path.padEnd(width)}  ${r.kind === "flow" ? "" : `(${r.kind}) `}${r.summary}\n`);
      if (all.length === 0) err("kdevflow: no flows, scripts or schedules in this workspace (f/**/<name>__flow, <name>.script.yaml, <name>.schedule.yaml)");
      return EXIT_OK;
    }
    case "show": {
      const target = findRunnable(workspaceOf(cmd), cmd.path);
      if (target.kind === "flow") process.stdout.write(renderForm(target.location.path, readFlowFile(target.location)));
      else process.stdout.write(renderForm(target.script.path, target.script));
      return EXIT_OK;
    }
    case "run":
      return runCommand(cmd, folders);
    case "schedule":
      return scheduleCommand(cmd, folders);
  }
}

// `kdevflow list | head -1`: a reader that went away is not an error.
const isEpipe = (e: unknown) => (e as NodeJS.ErrnoException | null)?.code === "EPIPE";
process.stdout.on("error", (e) => {
  if (isEpipe(e)) process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
});

// The folders of this invocation's runs: removed when a run ends, or on SIGINT, SIGTERM
// and SIGHUP (lifetime.ts), which also stop the steps and end what they started.
const runFolders = new RunFolders(process.env.KDEVFLOW_KEEP_RUN_DIR === "1");
installStopHandlers(err, () => runFolders.removeAll());

try {
  process.exitCode = await main(process.argv.slice(2), runFolders);
} catch (e) {
  if (isEpipe(e)) {
    process.exitCode ??= 0;
  } else if (isInputError(e)) {
    err(`kdevflow: ${(e as Error).message}`);
    process.exitCode = EXIT_BAD_INPUT;
  } else {
    err(`kdevflow: internal error: ${(e as Error)?.stack ?? String(e)}`);
    process.exitCode = EXIT_FAILED;
  }
}
