// The engine's own lifetime: what happens when it is told to stop, and what a run that
// was killed leaves behind for the next one to clear.
//
// - SIGINT (Ctrl-C), SIGTERM and SIGHUP (a closed terminal) stop the running steps, end
//   every process that carries this engine's lineage marker (the steps' commands, in
//   groups of their own), remove the unfinished run folders, release the locks (lock.ts
//   removes held locks on exit) and exit 128 + the signal number.
// - SIGKILL runs no handler: the engine's reaper ends the steps, the steps' reapers end
//   their commands (f/common/proc.ts), and the run folder stays. Run folders are named
//   after the engine that made them (`kdevflow-run-<pid>.<start>-XXXXXX`), so the next
//   run removes those whose engine no longer runs.

import { existsSync, writeFileSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { endMarked, isRunning, lineageMarker, procStat, processToken } from "../../f/common/proc.ts";
import { killAllJobs } from "./job.ts";

export const RUN_DIR_PREFIX = "kdevflow-run-";
/** A file in a run folder kept on purpose (KDEVFLOW_KEEP_RUN_DIR=1): never removed as stale. */
export const KEPT_MARK = ".kept";
/** Run folders of an older engine carry no owner; they are removed once this old. */
export const UNOWNED_RUN_DIR_MAX_AGE_MS = 24 * 3600 * 1000;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** The mkdtemp prefix of this engine's run folders: `<tmp>/kdevflow-run-<pid>.<start>-`. */
export function runDirPrefix(tmp: string = tmpdir()): string {
  return join(tmp, `${RUN_DIR_PREFIX}${processToken()}-`);
}

/** Mark a run folder as kept on purpose. */
export function markKept(runDir: string): void {
  writeFileSync(join(runDir, KEPT_MARK), "");
}

export type RunDirVerdict = { remove: false } | { remove: true; why: string };

/**
 * Whether a folder in TMPDIR is a run folder a killed engine left. Pure given the
 * liveness check: `kdevflow-run-<pid>.<start>-XXXXXX` is stale when that process no
 * longer runs; an older `kdevflow-run-XXXXXX` when it is older than a day.
 */
export function judgeRunDir(
  name: string,
  facts: { kept: boolean; ageMs: number },
  running: (pid: number, start: number) => boolean,
): RunDirVerdict {
  if (!name.startsWith(RUN_DIR_PREFIX) || facts.kept) return { remove: false };
  const rest = name.slice(RUN_DIR_PREFIX.length);
  const owned = /^(\d+)\.(\d+)-[A-Za-z0-9]{6}$/.exec(rest);
  if (owned) {
    const pid = Number(owned[1]);
    return running(pid, Number(owned[2])) ? { remove: false } : { remove: true, why: `pid ${pid} is gone` };
  }
  if (/^[A-Za-z0-9]{6}$/.test(rest) && facts.ageMs > UNOWNED_RUN_DIR_MAX_AGE_MS) {
    return { remove: true, why: `no owner and ${Math.floor(facts.ageMs / 3600_000)} h old` };
  }
  return { remove: false };
}

/** Remove the run folders killed engines left in `tmp`; returns one line per folder removed. */
export async function removeStaleRunDirs(tmp: string = tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = join(tmp, name);
    let ageMs: number;
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) continue;
      ageMs = Date.now() - st.mtimeMs;
    } catch {
      continue;
    }
    const verdict = judgeRunDir(name, { kept: existsSync(join(dir, KEPT_MARK)), ageMs }, isRunning);
    if (!verdict.remove) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(`${dir} (${verdict.why})`);
  }
  return removed;
}

/**
 * Stop on SIGINT, SIGTERM and SIGHUP: the running steps' groups get SIGTERM (SIGKILL
 * after 2 s), then every process still carrying this engine's marker is ended, `cleanup`
 * runs (run folders), and the engine exits 128 + the signal number.
 */
export function installStopHandlers(log: (line: string) => void, cleanup: () => void): void {
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      // After a hangup the terminal may be gone: a failed write must not stop the cleanup.
      for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
      const say = (line: string) => {
        try {
          log(line);
        } catch {
          /* no terminal any more */
        }
      };
      say(`kdevflow: ${sig}: stopping the running step`);
      void (async () => {
        try {
          await killAllJobs("SIGTERM");
          const start = procStat(process.pid)?.start;
          if (start !== undefined) {
            const { found, left } = await endMarked(lineageMarker(process.pid, start));
            if (found.length) say(`kdevflow: ended ${found.length - left.length} processes the steps had started`);
          }
        } finally {
          cleanup();
          process.exit(128 + SIGNAL_NUMBERS[sig]!);
        }
      })();
    });
  }
}
