// The command runner every step uses. Commands are argument vectors, never shell
// strings: the vector is printed shell-quoted (so it can be pasted into a terminal)
// before it runs, its output streams into the job log, and a failure raises a
// CommandError carrying the exit code and the last lines of output.
//
// Every command runs in a process group of its own, guarded by this process's reaper
// (proc.ts): a timeout ends the whole group, what the command leaves running in its
// group when it exits is ended, and if this process dies first (killed, cancelled) the
// reaper ends the group. Commands carry the lineage marker in their environment.

import { execa } from "execa";
import { describeProcesses, endGroup, groupMembers, guardGroup, LINEAGE_VAR, selfLineage } from "./proc.ts";

export interface RunOptions {
  cwd?: string;
  /** Extra environment, merged over process.env unless `replaceEnv` is set. */
  env?: Record<string, string | undefined>;
  replaceEnv?: boolean;
  /** Keep stdout/stderr in the result (they still stream to the log unless `quiet`). */
  capture?: boolean;
  /** Do not stream output to the log (it is still kept for errors). */
  quiet?: boolean;
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number;
  /** Text written to the command's standard input. */
  input?: string;
  /** Called with each line of output (stdout and stderr) as it arrives. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Do not raise on a non-zero exit; the caller reads `exitCode`. */
  allowFailure?: boolean;
  /** How many trailing output lines a CommandError keeps. */
  tailLines?: number;
}

export interface RunResult {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export class CommandError extends Error {
  readonly argv: string[];
  readonly exitCode: number | null;
  readonly tail: string[];
  readonly timedOut: boolean;

  constructor(argv: string[], exitCode: number | null, tail: string[], timedOut: boolean) {
    const what = timedOut ? "timed out" : exitCode === null ? "was killed" : `exited with status ${exitCode}`;
    const shown = tail.length ? `\n${tail.join("\n")}` : "";
    super(`command ${what}: ${shellQuote(argv)}${shown}`);
    this.name = "CommandError";
    this.argv = argv;
    this.exitCode = exitCode;
    this.tail = tail;
    this.timedOut = timedOut;
  }
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one argument the way a POSIX shell would read it back verbatim. */
export function quoteArg(arg: string): string {
  if (arg === "") return "''";
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The argument vector as one copy-pasteable shell line. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map(quoteArg).join(" ");
}

/** Keeps only the last `limit` lines seen, for error messages. */
export class LineTail {
  private readonly lines: string[] = [];
  constructor(private readonly limit: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
  }
  get(): string[] {
    return [...this.lines];
  }
}

function splitLines(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let pending = "";
  const flush = (chunk: Buffer | string) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, nl).replace(/\r$/, ""));
      pending = pending.slice(nl + 1);
    }
  };
  (flush as unknown as { end: () => void }).end = () => {
    if (pending) onLine(pending);
    pending = "";
  };
  return flush;
}

/** Run one command. Prints `+ <argv>` first; raises CommandError on failure. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (argv.length === 0 || !argv[0]) throw new Error("run: empty argument vector");
  const args = [...argv];
  const where = opts.cwd ? ` (in ${opts.cwd})` : "";
  console.log(`+ ${shellQuote(args)}${where}`);
  const started = performance.now();
  const tail = new LineTail(opts.tailLines ?? 40);
  const out: string[] = [];
  const err: string[] = [];
  const handle = (stream: "stdout" | "stderr") =>
    splitLines((line) => {
      tail.push(line);
      if (opts.capture) (stream === "stdout" ? out : err).push(line);
      if (!opts.quiet) (stream === "stdout" ? process.stdout : process.stderr).write(`${line}\n`);
      opts.onLine?.(line, stream);
    });
  const env = { ...(opts.replaceEnv ? opts.env : { ...process.env, ...opts.env }), [LINEAGE_VAR]: selfLineage() };
  const child = execa(args[0]!, args.slice(1), {
    cwd: opts.cwd,
    env: env as Record<string, string>,
    extendEnv: false,
    input: opts.input,
    stdin: opts.input === undefined ? "ignore" : undefined,
    // Its own process group (and session), so the command and everything it starts can
    // be ended together, by a timeout here or by the reaper if this process dies.
    detached: true,
    reject: false,
    buffer: false,
    stripFinalNewline: false,
  });
  const pgid = child.pid;
  const release = pgid === undefined ? () => {} : guardGroup(pgid);
  let timedOut = false;
  const timer =
    opts.timeoutMs === undefined || pgid === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          void endGroup(pgid);
        }, opts.timeoutMs);
  const onOut = handle("stdout");
  const onErr = handle("stderr");
  child.stdout?.on("data", onOut);
  child.stderr?.on("data", onErr);
  let res;
  try {
    res = await child;
  } finally {
    if (timer) clearTimeout(timer);
    if (pgid !== undefined) {
      // Whatever the command left running in its group (a background job of a script)
      // ends with it.
      const left = groupMembers(pgid);
      if (left.length) {
        console.log(`run: ${args[0]} left ${describeProcesses(left)} running in its process group; ending them`);
        await endGroup(pgid, 500);
      }
    }
    release();
  }
  (onOut as unknown as { end: () => void }).end();
  (onErr as unknown as { end: () => void }).end();
  const durationMs = performance.now() - started;
  const exitCode = typeof res.exitCode === "number" ? res.exitCode : -1;
  if ((res.failed || timedOut) && !opts.allowFailure) {
    if (res.exitCode === undefined && !timedOut && res.cause instanceof Error) {
      const cause = res.cause as NodeJS.ErrnoException;
      if (cause.code === "ENOENT") {
        throw new CommandError(args, null, [`${args[0]}: command not found`], false);
      }
    }
    throw new CommandError(args, res.exitCode ?? null, tail.get(), timedOut);
  }
  return {
    argv: args,
    exitCode,
    stdout: out.length ? `${out.join("\n")}\n` : "",
    stderr: err.length ? `${err.join("\n")}\n` : "",
    durationMs,
  };
}

/** Run a command quietly and return its trimmed standard output. */
export async function capture(argv: readonly string[], opts: Omit<RunOptions, "capture" | "quiet"> = {}): Promise<string> {
  const res = await run(argv, { ...opts, capture: true, quiet: true });
  return res.stdout.trim();
}
