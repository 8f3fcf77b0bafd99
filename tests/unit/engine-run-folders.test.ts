// Run folders (cli/engine/run_folders.ts): made per run, removed when the run ends, and
// removed synchronously when the CLI is stopped, even while a run that just ended is
// removing its own folder at the same moment. That race is real under Bun: in CI, a
// SIGTERM'd run left its folder once (tests/integration/engine-lifetime.test.ts), and
// tests/fixtures/rm-race.ts shows Bun's rm and rmSync racing over one tree can both
// return cleanly and leave part of it.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REMOVE_ATTEMPTS, removeTreeSync, RunFolders } from "../../cli/engine/run_folders.ts";
import { run } from "../../f/common/run.ts";

const BUN = resolve(import.meta.dirname, "../../node_modules/.bin/bun");
const RACE = resolve(import.meta.dirname, "../fixtures/rm-race.ts");
const scratch = mkdtempSync(join(tmpdir(), "kdevflow-run-folders-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("removeTreeSync", () => {
  it("removes a tree and says so; a missing folder is already gone", () => {
    const dir = join(scratch, "tree");
    mkdirSync(join(dir, "a/b"), { recursive: true });
    writeFileSync(join(dir, "a/b/f"), "x");
    expect(removeTreeSync(dir)).toBe(true);
    expect(existsSync(dir)).toBe(false);
    expect(removeTreeSync(dir)).toBe(true);
  });

  it("under Bun, racing the async rm of the same tree, leaves nothing (400 rounds)", async () => {
    const dir = mkdtempSync(join(scratch, "race-"));
    const res = await run([BUN, RACE, dir, "400", String(REMOVE_ATTEMPTS)], { capture: true, quiet: true });
    expect(JSON.parse(res.stdout)).toEqual({ rounds: 400, left: 0 });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("RunFolders", () => {
  it("release removes a run's folder; removeAll removes those of runs still going", async () => {
    const folders = new RunFolders();
    const [a, b] = [await folders.create(), await folders.create()];
    expect(a).toMatch(/\/kdevflow-run-\d+\.\d+-[A-Za-z0-9]{6}$/);
    writeFileSync(join(a, "f"), "x");
    await folders.release(a);
    expect(existsSync(a)).toBe(false);
    mkdirSync(join(b, "job/x"), { recursive: true });
    folders.removeAll();
    expect(existsSync(b)).toBe(false);
  });

  it("keep leaves folders in place, marked as kept", async () => {
    const folders = new RunFolders(true);
    const dir = await folders.create();
    await folders.release(dir);
    folders.removeAll();
    expect(readdirSync(dir)).toEqual([".kept"]);
    rmSync(dir, { recursive: true });
  });
});
