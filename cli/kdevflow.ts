#!/usr/bin/env bun
// kdevflow: run the workspace's flows locally, as a Windmill worker would.
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
import { removeLiveRunDirs, runFlow } from "./engine/executor.ts";
import { findFlow, listFlows, readFlowFile, readFlowSummary } from "./engine/flow.ts";
import { renderForm } from "./engine/form.ts";
import { installStopHandlers, removeStaleRunDirs } from "./engine/lifetime.ts";
import { applySets, validateInputs } from "./engine/schema.ts";
import { slotLock } from "./engine/slot.ts";

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

async function runCommand(cmd: Extract<Command, { kind: "run" }>): Promise<number> {
  const workspace = workspaceOf(cmd);
  const location = findFlow(workspace, cmd.flow);
  const flow = readFlowFile(location);
  const base = cmd.input === undefined ? {} : readInputFile(cmd.input);
  const given = applySets(flow.schema, base, cmd.sets);
  const input = validateInputs(flow.schema, given);
  const output = cmd.output === undefined ? undefined : checkOutputPath(cmd.output);
  for (const line of await removeStaleRunDirs()) err(`kdevflow: removed the run folder a killed run left: ${line}`);

  const start = () =>
    runFlow({
      workspace,
      location,
      flow,
      input,
      bun: bunBinary(),
      log: err,
      keepRunDir: process.env.KDEVFLOW_KEEP_RUN_DIR === "1",
    });
  // A same_worker flow holds its worker slot for the whole run, as on a Windmill worker.
  const slot = flow.value.same_worker === true ? slotLock() : null;
  const outcome = slot ? await withLock(slot.path, { what: slot.what, log: (line) => err(`kdevflow: ${line}`) }, start) : await start();
  const json = `${JSON.stringify(outcome.result ?? null, null, 2)}\n`;
  process.stdout.write(json);
  if (outcome.status === "failure") {
    const e = outcome.error;
    if (e) err(`kdevflow: step ${e.step_id} failed: ${e.name}: ${e.message.split("\n")[0]}`);
    else err(`kdevflow: ${String(outcome.result)}`);
    if (output) err(`kdevflow: ${cmd.output} not written (the flow failed)`);
    return outcome.inputError ? EXIT_BAD_INPUT : EXIT_FAILED;
  }
  if (output) {
    try {
      await writeFileAtomic(output, json);
    } catch (e) {
      err(`kdevflow: the flow succeeded but ${cmd.output} could not be written: ${(e as Error).message}`);
      return EXIT_FAILED;
    }
  }
  return EXIT_OK;
}

async function main(argv: readonly string[]): Promise<number> {
  const cmd = parseArgs(argv);
  switch (cmd.kind) {
    case "help":
      process.stdout.write(USAGE[cmd.topic ?? "main"]);
      return EXIT_OK;
    case "list": {
      const flows = listFlows(workspaceOf(cmd));
      const width = Math.max(0, ...flows.map((f) => f.path.length));
      for (const f of flows) process.stdout.write(`${f.path.padEnd(width)}  ${readFlowSummary(f)}\n`);
      if (flows.length === 0) err("kdevflow: no flows in this workspace (folders f/**/<name>__flow)");
      return EXIT_OK;
    }
    case "show": {
      const location = findFlow(workspaceOf(cmd), cmd.flow);
      process.stdout.write(renderForm(location.path, readFlowFile(location)));
      return EXIT_OK;
    }
    case "run":
      return runCommand(cmd);
  }
}

// `kdevflow list | head -1`: a reader that went away is not an error.
const isEpipe = (e: unknown) => (e as NodeJS.ErrnoException | null)?.code === "EPIPE";
process.stdout.on("error", (e) => {
  if (isEpipe(e)) process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
});

installStopHandlers(err, removeLiveRunDirs);

try {
  process.exitCode = await main(process.argv.slice(2));
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
