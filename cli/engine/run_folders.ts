// The folders runs work in: one per top-level run, under
// $TMPDIR/kdevflow-run-<engine pid>.<start>-*, holding a folder per job and the run's
// ./shared. A run removes its folder when it ends; the CLI removes the folders of runs
// still going when it is stopped, and the next run those a killed engine left
// (lifetime.ts). One RunFolders per CLI invocation, passed to the runner: no state lives
// in the module.

import { rmSync } from "node:fs";
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

  /** The CLI was interrupted: remove the folders of runs still going, synchronously. */
  removeAll(): void {
    for (const dir of this.live) rmSync(dir, { recursive: true, force: true });
    this.live.clear();
  }
}
