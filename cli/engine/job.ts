// Start one job: a Bun process running step_host.ts on a job file, in its own process
// group so that a timeout (or Ctrl-C) stops the step. The commands the step starts run
// in groups of their own under the step's reaper (f/common/proc.ts), and the step's
// group is under the engine's reaper: when the engine dies, even by SIGKILL, its reaper
// ends the step, and the step's reaper ends the step's commands. Whatever is left in the
// step's group when the step exits is ended too. The job carries the engine's lineage
// marker, so the next holder of a stale slot lock can find it.
// Its stdout and stderr are the job log, handed on line by line as they arrive.
//
// This is the engine's process supervisor, not a step command, so it does not go through
// f/common/run.ts: it needs a process group to kill, a fixed argument vector that is not
// worth printing before every step, and no shell (the argv is [bun, step_host, job.json]).

import { spawn, type ChildProcess } from "node:child_process";
import { endGroup, endMarked, guardGroup, lineageMarker, LINEAGE_VAR, procStat, selfLineage } from "../../f/common/proc.ts";

export interface JobProcessOptions {
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Kill the job (and its process group) after this many milliseconds. */
  timeoutMs?: number;
  onLine: (line: string, stream: "stdout" | "stderr") => void;
}

export interface JobProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /** Could not start at all (e.g. bun missing): the reason. */
  spawnError?: string;
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Stop every running job's process group (used on Ctrl-C / SIGTERM of the CLI) and wait
 * until the jobs' processes have exited, at most `graceMs`, then kill what is left.
 */
export async function killAllJobs(signal: NodeJS.Signals = "SIGTERM", graceMs = 2000): Promise<void> {
  const children = [...live];
  const exited = children.map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("close", () => r()))));
  for (const child of children) killGroup(child, signal);
  await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, graceMs))]);
  for (const child of children) killGroup(child, "SIGKILL");
}

function lineSplitter(onLine: (line: string) => void): { push: (chunk: Buffer) => void; end: () => void } {
  let pending = "";
  return {
    push(chunk) {
      pending += chunk.toString("utf8");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, nl).replace(/\r$/, ""));
        pending = pending.slice(nl + 1);
      }
    },
    end() {
      if (pending) onLine(pending.replace(/\r$/, ""));
      pending = "";
    },
  };
}

export function runJobProcess(opts: JobProcessOptions): Promise<JobProcessResult> {
  const started = performance.now();
  return new Promise((resolvePromise) => {
    const [cmd, ...args] = opts.argv;
    const child = spawn(cmd!, args, {
      cwd: opts.cwd,
      env: { ...opts.env, [LINEAGE_VAR]: selfLineage() },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    live.add(child);
    // The step's own token (pid and start time), read while it certainly runs: the
    // commands it starts carry it in their lineage.
    const stepStart = child.pid === undefined ? undefined : procStat(child.pid)?.start;
    const release = child.pid === undefined ? () => {} : guardGroup(child.pid);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let hardKill: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        killGroup(child, "SIGTERM");
        hardKill = setTimeout(() => killGroup(child, "SIGKILL"), 2000);
      }, opts.timeoutMs);
    }
    const out = lineSplitter((l) => opts.onLine(l, "stdout"));
    const err = lineSplitter((l) => opts.onLine(l, "stderr"));
    child.stdout?.on("data", out.push);
    child.stderr?.on("data", err.push);
    let spawnError: string | undefined;
    child.on("error", (e) => {
      spawnError = e.message;
    });
    // Anything the step left behind in its group ends with it (at exit, not at close:
    // a leftover holding the log pipes open would hold back the close).
    // A step that did not end well (killed, crashed, timed out) may have commands running
    // in groups of their own: its reaper ends them, but on its own time, so the engine
    // ends whatever carries the step's token before it reports the step and goes on.
    let ending: Promise<void> = Promise.resolve();
    child.on("exit", (code) => {
      if (child.pid === undefined) return;
      const pid = child.pid;
      const group = endGroup(pid, timedOut ? 0 : 500);
      ending =
        code === 0 || stepStart === undefined
          ? group
          : Promise.all([group, endMarked(lineageMarker(pid, stepStart), { graceMs: 400, budgetMs: 5000 })]).then(() => {});
    });
    child.on("close", async (code, signal) => {
      out.end();
      err.end();
      if (timer) clearTimeout(timer);
      if (hardKill) clearTimeout(hardKill);
      await ending;
      release();
      live.delete(child);
      resolvePromise({
        exitCode: code,
        signal,
        timedOut,
        durationMs: performance.now() - started,
        ...(spawnError ? { spawnError } : {}),
      });
    });
  });
}
