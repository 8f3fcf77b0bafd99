// The worker slot a local run occupies. A Windmill worker runs one job at a time, so
// the steps of two same_worker flows never share its slot (WORKERS_DIR/<WORKER_INDEX>)
// at once: one waits in the queue. The local engine is that worker, so it holds the
// slot for the whole run of a same_worker flow; a second run on the same slot waits
// and says so, and a run with another WORKER_INDEX goes ahead in parallel. The lock
// lives in the runtime directory, not the Workbench: taking it changes nothing there.

import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { workbenchLayout, type Env } from "../../f/common/layout.ts";

export interface SlotLock {
  path: string;
  what: string;
}

/** Where the lock of this environment's slot lives, and how a waiter names it. Pure. */
export function slotLock(env: Env = process.env): SlotLock {
  const layout = workbenchLayout(env);
  const key = createHash("sha256").update(layout.slotDir).digest("hex").slice(0, 16);
  const runtime = env.XDG_RUNTIME_DIR && env.XDG_RUNTIME_DIR.startsWith("/") ? env.XDG_RUNTIME_DIR : tmpdir();
  return { path: join(runtime, "kdevflow", "slots", `${key}.lock`), what: `worker slot ${layout.workerIndex} (${layout.slotDir})` };
}
