// The process one step runs in (started by the engine with Bun, one per job, as a
// Windmill worker does). It reads the job file, imports the step's module, calls `main`
// with the job's arguments mapped by name to main's parameters, as the Bun wrapper's
// argsObjToArr does (an argument the job does not have is undefined, so a JavaScript
// default applies; one that is null stays null), and writes the outcome as JSON
// to the job's result file. stdout and stderr are the job log and carry nothing else.
//
// Result file: {"ok": true, "result": <json>} or {"ok": false, "error": {message, name, stack, step_id, extra}}.
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

/** Own fields of a thrown value the Bun wrapper leaves out of `extra`. */
const NOT_EXTRA = ["line", "name", "stack", "column", "message", "sourceURL", "originalLine", "originalColumn"];

/**
 * What a thrown value becomes in the result file, as Windmill's Bun wrapper writes it
 * (backend windmill-worker/src/bun_executor.rs, the wrapper's catch): message, name and
 * stack, step_id from WM_FLOW_STEP_ID, and the value's other own properties under
 * `extra`; then through JSON, so what JSON cannot hold disappears.
 */
export function serialiseError(e: unknown, stepId: string | undefined = process.env.WM_FLOW_STEP_ID): Record<string, unknown> {
  const thrown = (e ?? {}) as Record<string, unknown>;
  const err: Record<string, unknown> = { message: thrown.message, name: thrown.name, stack: thrown.stack };
  if (stepId) err.step_id = stepId;
  const extra: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(Object(e ?? {}))) {
    if (!NOT_EXTRA.includes(key)) extra[key] = thrown[key];
  }
  if (Object.keys(extra).length > 0) err.extra = extra;
  return JSON.parse(JSON.stringify(err, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

/** The JSON text of a step's result, as a worker stores it: undefined becomes null. */
export function resultJson(value: unknown): string {
  try {
    return JSON.stringify({ ok: true, result: value ?? null }, (_k, v) => (v === undefined ? null : typeof v === "bigint" ? v.toString() : v));
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
