// Nothing a run started outlives it: the real ./kdevflow launcher runs a same_worker flow
// whose step (tests/fixtures/lifetime-workspace) runs a command (through f/common/run.ts) that starts two more processes,
// and the test stops the run the ways an operator's machine does: kill -9 of the run's
// process group, SIGHUP (a closed terminal), SIGTERM, kill -9 of the step alone, and
// kill -9 of everything but the commands (the engine and both reapers). Each time, no
// process of the run is alive a second later, or the next run on the slot ends them and
// says so; a killed run's folder is removed by the next run.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { slotLock } from "../../cli/engine/slot.ts";
import { findMarked, guardGroup, isRunning, lineageMarker, procStat, type ProcStat } from "../../f/common/proc.ts";
import { CACHE_DIR, kdevflow, LAUNCHER, REPO, tempDir } from "./engine-helpers.ts";

const WORKSPACE = join(REPO, "tests/fixtures/lifetime-workspace");

const scratch = tempDir("kdevflow-lifetime-test-");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = join(scratch, "tmp");
mkdirSync(tmp);
const env = { KDEVFLOW_WORKBENCH: join(scratch, "wb"), WORKER_INDEX: "0", XDG_RUNTIME_DIR: join(scratch, "run"), TMPDIR: tmp };

interface Started {
  child: ChildProcess;
  pid: number;
  start: number;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Every process carrying the engine's marker once the commands run. */
  processes: ProcStat[];
}

/** Start `kdevflow run f/lifetime/commands` in a process group of its own; resolves when its commands run. */
async function startRun(): Promise<Started> {
  const child = spawn(LAUNCHER, ["run", "f/lifetime/commands", "--set", "seconds=60", "--workspace", WORKSPACE], {
    cwd: REPO,
    env: { ...process.env, KDEVFLOW_CACHE_DIR: CACHE_DIR, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.on("close", (code, signal) => r(code ?? (signal ? 128 : null))));
  const pid = child.pid!;
  guardGroup(pid); // if this test process dies, the run it started dies with it
  const start = procStat(pid)!.start;
  for (let i = 0; i < 1500 && !/^ {2}commands running$/m.test(err); i++) await sleep(20);
  expect(err, err).toMatch(/^ {2}commands running$/m);
  const processes = findMarked(lineageMarker(pid, start));
  return { child, pid, start, stderr: () => err, exited, processes };
}

/** The processes of a run still alive `ms` after now. */
async function aliveAfter(run: Started, ms: number): Promise<ProcStat[]> {
  await sleep(ms);
  const alive = new Map<number, ProcStat>();
  for (const p of [...findMarked(lineageMarker(run.pid, run.start)), ...run.processes]) if (isRunning(p.pid, p.start)) alive.set(p.pid, p);
  return [...alive.values()];
}

function runDirs(): string[] {
  return readdirSync(tmp).filter((n) => n.startsWith("kdevflow-run-"));
}

const reaperOf = (p: ProcStat) => {
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, "utf8").includes("kdevflow-reaper");
  } catch {
    return false; // it ended between the listing and the read
  }
};

describe("a run stopped from outside leaves nothing running", () => {
  it("kill -9 of the run's process group: nothing of it is alive a second later, and the next run takes the slot over and removes its folder", async () => {
    const run = await startRun();
    // The engine, its reaper, the step, the step's reaper, the command and its two sleeps.
    expect(run.processes.map((p) => p.comm).sort()).toEqual(expect.arrayContaining(["bash", "bash", "bash", "sleep", "sleep"]));
    expect(run.processes.filter(reaperOf)).toHaveLength(2);
    expect(runDirs()).toEqual([expect.stringMatching(new RegExp(`^kdevflow-run-${run.pid}\\.${run.start}-`))]);
    process.kill(-run.pid, "SIGKILL");
    expect(await aliveAfter(run, 1000)).toEqual([]);
    await run.exited;
    const left = runDirs();
    expect(left).toHaveLength(1); // SIGKILL runs no handler: the folder stays ...
    expect(existsSync(slotLock(env).path)).toBe(true); // ... and so does the slot lock

    const next = await kdevflow(["run", "f/lifetime/commands", "--set", "seconds=0"], { env, workspace: WORKSPACE });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`kdevflow: lock: taking over the stale lock on worker slot 0 (${join(scratch, "wb", "workers", "0")}): pid ${run.pid} is gone and nothing it started is still running`);
    expect(next.stderr).toContain(`kdevflow: removed the run folder a killed run left: ${join(tmp, left[0]!)} (pid ${run.pid} is gone)`);
    expect(runDirs()).toEqual([]);
  });

  it.each([
    ["SIGHUP", 129],
    ["SIGTERM", 143],
  ] as const)("%s to the run's process group stops the step and its commands, removes the run folder and releases the slot (exit %i)", async (sig, code) => {
    const run = await startRun();
    process.kill(-run.pid, sig);
    expect(await run.exited).toBe(code);
    expect(await aliveAfter(run, 1000)).toEqual([]);
    expect(run.stderr()).toContain(`kdevflow: ${sig}: stopping the running step`);
    expect(runDirs()).toEqual([]);
    expect(existsSync(slotLock(env).path)).toBe(false);
  });

  it("kill -9 of the step alone: the step fails, and its commands end with it", async () => {
    const run = await startRun();
    const step = run.processes.find((p) => p.ppid === run.pid && !reaperOf(p))!;
    expect(step.comm).toMatch(/^bun/);
    const commands = run.processes.filter((p) => p.comm === "sleep");
    process.kill(step.pid, "SIGKILL");
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toMatch(/<== step work: failed in .*: ExecutionErr: step work was killed by SIGKILL without a result/);
    for (const p of commands) expect(isRunning(p.pid, p.start)).toBe(false);
    expect(await aliveAfter(run, 1000)).toEqual([]);
  });

  it("kill -9 of everything but the commands: the next run on the slot ends what is left and says what it found in one sentence", async () => {
    const run = await startRun();
    for (const p of run.processes.filter(reaperOf)) process.kill(p.pid, "SIGKILL");
    process.kill(run.pid, "SIGKILL");
    await run.exited;
    const survivors = await aliveAfter(run, 1000);
    // The step (whose engine is gone) and its command with the two sleeps run on.
    expect(survivors.map((p) => p.comm).sort()).toEqual(["bash", expect.stringMatching(/^bun/), "sleep", "sleep"]);

    const next = await kdevflow(["run", "f/lifetime/commands", "--set", "seconds=0"], { env, workspace: WORKSPACE });
    expect(next.code, next.stderr).toBe(0);
    const sentence = next.stderr.split("\n").find((l) => l.includes("taking over the stale lock"));
    expect(sentence).toMatch(
      new RegExp(`^kdevflow: lock: taking over the stale lock on worker slot 0 \\(.*\\): pid ${run.pid} is gone but 4 processes \\(2 × sleep, bash, bun[^,]*\\) it started were still running; ended them$`),
    );
    for (const p of survivors) expect(isRunning(p.pid, p.start)).toBe(false);
    expect(runDirs()).toEqual([]);
  });
});
