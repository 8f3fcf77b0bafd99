// The folders runs work in: one per top-level run, under
// $TMPDIR/kdevflow-run-<engine pid>.<start>-*, holding a folder per job and the run's
// ./shared. A run removes its folder when it ends; the CLI removes the folders of runs
// still going when it is stopped, and the next run those a killed engine left
// (lifetime.ts). One RunFolders per CLI invocation, passed to the runner: no state lives
// in the module.

import { existsSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { markKept, runDirPrefix } from "./lifetime.ts";

export class RunFolders {
  private readonly live = new Set<string>();

  /** `keep`: leave folders in place when runs end (KDEVFLOW_KEEP_RUN_DIR=1), for a look inside. */
  constructor(readonly keep = false) {}

  async create(): Promise<string> {
    const dir = await mkdtemp(runDirPrefix());
    if (this.keep) markKept(dir);
    else this.live.add(dir);
    return dir;
  }

  /** A run ended: its folder goes, unless kept. */
  async release(dir: string): Promise<void> {
    if (this.keep) return;
    await rm(dir, { recursive: true, force: true });
    this.live.delete(dir);
  }

  /**
   * The CLI was interrupted: remove the folders of runs still going, synchronously.
   * A run that just ended may be removing its folder at the same moment (`release`,
   * on Bun's thread pool): Bun's recursive rm and rmSync racing over one tree can both
   * return without error and leave part of it (88 trees of 1000 with one rmSync, none
   * with ten: tests/fixtures/rm-race.ts), so the removal is repeated until the folder
   * is gone.
   */
  removeAll(): void {
    for (const dir of this.live) removeTreeSync(dir);
    this.live.clear();
  }
}

/** How many times removeAll tries one folder before it gives up (the next run removes what is left). */
export const REMOVE_ATTEMPTS = 10;

/** rmSync until the folder is gone: true when it is. */
export function removeTreeSync(dir: string, attempts: number = REMOVE_ATTEMPTS): boolean {
  for (let i = 0; i < attempts && existsSync(dir); i++) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* a racing removal took an entry first: look again */
    }
  }
  return !existsSync(dir);
}
