// The process one step runs in (started by the engine with Bun, one per job, as a
// Windmill worker does). It reads the job file, imports the step's module, calls `main`
// with the job's arguments mapped by name to main's parameters (a missing argument is
// passed as undefined, so a JavaScript default applies), and writes the outcome as JSON
// to the job's result file. stdout and stderr are the job log and carry nothing else.
//
// Result file: {"ok": true, "result": <json>} or {"ok": false, "error": {name, message, stack, ...}}.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeJsonAtomic } from "../../f/common/atomic.ts";

export interface JobFile {
  /** Absolute path of the module to import. */
  module: string;
  /** main's parameter names, in order (from parse_deno). */
  names: string[];
  /** The job's arguments, by name. */
  args: Record<string, unknown>;
  /** Where to write the outcome. */
  result: string;
}

/** What a thrown value becomes in the result file: name, message, stack and its own fields. */
export function serialiseError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(err)) {
      try {
        own[k] = JSON.parse(JSON.stringify(v) ?? "null");
      } catch {
        own[k] = String(v);
      }
    }
    return { ...own, name: err.name, message: err.message, stack: err.stack ?? "" };
  }
  const message = typeof err === "object" && err !== null ? JSON.stringify(err) : String(err);
  return { name: "NonErrorThrown", message, stack: "" };
}

async function runJob(jobPath: string): Promise<number> {
  const job = JSON.parse(readFileSync(jobPath, "utf8")) as JobFile;
  try {
    const mod = (await import(pathToFileURL(job.module).href)) as { main?: unknown };
    if (typeof mod.main !== "function") throw new Error(`${job.module} does not export a function main`);
    const main = mod.main as (...a: unknown[]) => unknown;
    const value = await main(...job.names.map((n) => job.args[n]));
    let text: string;
    try {
      text = JSON.stringify(value ?? null, (_k, v) => (v === undefined ? null : v));
    } catch (err) {
      throw new Error(`main returned a value that is not JSON: ${(err as Error).message}`);
    }
    await writeJsonAtomic(job.result, { ok: true, result: JSON.parse(text) });
    return 0;
  } catch (err) {
    await writeJsonAtomic(job.result, { ok: false, error: serialiseError(err) });
    if (err instanceof Error) console.error(err.stack ?? `${err.name}: ${err.message}`);
    else console.error(String(err));
    return 1;
  }
}

const isEntry = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (isEntry) {
  const jobPath = process.argv[2];
  if (!jobPath) {
    console.error("usage: bun step_host.ts <job.json>");
    process.exit(2);
  }
  const code = await runJob(jobPath);
  process.exit(code);
}
