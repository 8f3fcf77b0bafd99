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

function envFor(index: string): Record<string, string> {
  return { KDEVFLOW_WORKBENCH: join(scratch, "wb"), WORKER_INDEX: index, XDG_RUNTIME_DIR: join(scratch, "run") };
}

function run(index: string, name: string) {
  return kdevflow(["run", "f/engine/slot", "--set", "seconds=2", "--set", `pid_file=${join(scratch, name)}`], { env: envFor(index) });
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
