// The worker slot a local run occupies. A Windmill worker runs one job at a time, but
// `same_worker` reserves nothing between a flow's steps: another flow's job may run on
// the worker in between (windmill-worker/src/worker.rs). The local engine holds the slot
// (WORKERS_DIR/<WORKER_INDEX>) for the whole run of a same_worker flow or a script, which
// is safer than a server; KDEVFLOW_SLOT_LOCK=off turns the lock off, so runs interleave
// as they can on a server. A second run on a locked slot waits and says so; a run with
// another WORKER_INDEX goes ahead in parallel. The lock lives in the runtime directory,
// not the Workbench: taking it changes nothing there.

import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../f/common/errors.ts";
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

/**
 * Whether the engine takes the slot lock at all: KDEVFLOW_SLOT_LOCK=off (or 0, false, no)
 * turns it off, so two runs on one slot interleave as they can on a server, where
 * same_worker reserves nothing (windmill-worker/src/worker.rs).
 */
export function slotLockEnabled(env: Env = process.env): boolean {
  const v = (env.KDEVFLOW_SLOT_LOCK ?? "").trim().toLowerCase();
  if (v === "" || v === "on" || v === "1" || v === "true" || v === "yes") return true;
  if (v === "off" || v === "0" || v === "false" || v === "no") return false;
  throw new InputError("KDEVFLOW_SLOT_LOCK", "on or off", env.KDEVFLOW_SLOT_LOCK);
}
