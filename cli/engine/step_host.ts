// The process one step runs in (started by the engine with Bun, one per job, as a
// Windmill worker does). It reads the job file, imports the step's module, calls `main`
// with the job's arguments mapped by name to main's parameters (a missing argument is
// passed as undefined, so a JavaScript default applies), and writes the outcome as JSON
// to the job's result file. stdout and stderr are the job log and carry nothing else.
//
// Result file: {"ok": true, "result": <json>} or {"ok": false, "error": {name, message, stack, ...}}.
//
// It uses Bun's own file API and no node: modules: loading node:fs costs a Bun process
// about 10 ms, which is most of what the engine adds to a step (docs/perf/engine.md).
// The result file is read by the engine only after this process has exited, so it needs
// no atomic rename: a process that dies while writing leaves invalid JSON, which the
// engine reports as a step that ended without a result.

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

interface BunFileApi {
  file(path: string): { json(): Promise<unknown> };
  write(path: string, data: string): Promise<number>;
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

/** The JSON text of a step's result, as a worker stores it: undefined becomes null. */
export function resultJson(value: unknown): string {
  try {
    return JSON.stringify({ ok: true, result: value ?? null }, (_k, v) => (v === undefined ? null : v));
  } catch (err) {
    throw new Error(`main returned a value that is not JSON: ${(err as Error).message}`);
  }
}

async function runJob(bun: BunFileApi, jobPath: string): Promise<number> {
  const job = (await bun.file(jobPath).json()) as JobFile;
  try {
    const mod = (await import(job.module)) as { main?: unknown };
    if (typeof mod.main !== "function") throw new Error(`${job.module} does not export a function main`);
    const main = mod.main as (...a: unknown[]) => unknown;
    const value = await main(...job.names.map((n) => job.args[n]));
    await bun.write(job.result, resultJson(value));
    return 0;
  } catch (err) {
    await bun.write(job.result, JSON.stringify({ ok: false, error: serialiseError(err) }));
    if (err instanceof Error) console.error(err.stack ?? `${err.name}: ${err.message}`);
    else console.error(String(err));
    return 1;
  }
}

const bun = (globalThis as { Bun?: BunFileApi }).Bun;

if ((import.meta as { main?: boolean }).main && bun) {
  const jobPath = process.argv[2];
  if (!jobPath) {
    console.error("usage: bun step_host.ts <job.json>");
    process.exit(2);
  }
  const code = await runJob(bun, jobPath);
  process.exit(code);
}
