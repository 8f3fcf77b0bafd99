// A same_worker flow occupies its worker slot for the whole run, as a job does on a
// Windmill worker: a second local run on the same WORKER_INDEX waits and says so, and a
// run on another WORKER_INDEX goes ahead at once. The lock lives in the runtime
// directory, so the Workbench is not touched by it.

import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { slotLock } from "../../cli/engine/slot.ts";
import { kdevflow, tempDir } from "./engine-helpers.ts";

const scratch = tempDir("kdevflow-slot-test-");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function envFor(index: string, extra: Record<string, string> = {}): Record<string, string> {
  return { KDEVFLOW_WORKBENCH: join(scratch, "wb"), WORKER_INDEX: index, XDG_RUNTIME_DIR: join(scratch, "run"), ...extra };
}

function run(index: string, name: string, extra: Record<string, string> = {}, seconds = 2) {
  return kdevflow(["run", "f/engine/slot", "--set", `seconds=${seconds}`, "--set", `pid_file=${join(scratch, name)}`], { env: envFor(index, extra) });
}

describe("the worker slot of a same_worker flow", () => {
  it("serialises two runs on one slot: both succeed, one says it waited", async () => {
    const [a, b] = await Promise.all([run("0", "a.pid"), run("0", "b.pid")]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const waited = [a, b].filter((r) => r.stderr.includes("lock: waiting for worker slot 0"));
    expect(waited).toHaveLength(1);
    // The one that waited started after the other had finished its two seconds.
    expect(waited[0]!.ms).toBeGreaterThan(4000);
    expect(existsSync(join(scratch, "wb"))).toBe(false);
    expect(existsSync(slotLock(envFor("0")).path)).toBe(false);
  });

  // same_worker reserves nothing on a server (windmill-worker/src/worker.rs); with the lock off, runs interleave as they can there.
  it("KDEVFLOW_SLOT_LOCK=off: two runs on one slot run their steps at the same time", async () => {
    const off = { KDEVFLOW_SLOT_LOCK: "off" };
    let finished = 0;
    // Five seconds each: long enough that a loaded machine starts the second before the first ends.
    const runs = [run("0", "e.pid", off, 5), run("0", "f.pid", off, 5)].map((p) => p.finally(() => finished++));
    // Both steps have started (each writes its pid file first) before either run ended.
    const bothStarted = async () => {
      for (let i = 0; i < 200; i++) {
        if (existsSync(join(scratch, "e.pid")) && existsSync(join(scratch, "f.pid"))) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    expect(await bothStarted()).toBe(true);
    expect(finished).toBe(0);
    const [a, b] = await Promise.all(runs);
    expect(a!.code, a!.stderr).toBe(0);
    expect(b!.code, b!.stderr).toBe(0);
    expect(a!.stderr + b!.stderr).not.toContain("lock: waiting");
  });

  it("lets runs on two slots go ahead together", async () => {
    const [a, b] = await Promise.all([run("1", "c.pid"), run("2", "d.pid")]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stderr + b.stderr).not.toContain("lock: waiting");
  });

  it("names a different lock for each slot, outside the Workbench", () => {
    const zero = slotLock(envFor("0"));
    const one = slotLock(envFor("1"));
    expect(zero.path).not.toBe(one.path);
    expect(zero.path.startsWith(join(scratch, "run", "kdevflow", "slots"))).toBe(true);
    expect(zero.what).toBe(`worker slot 0 (${join(scratch, "wb", "workers", "0")})`);
  });
});
