// Named locks on real files: concurrent holders (in one process and across processes)
// are serialised, a waiter says what it waits for, a dead owner's lock is taken over,
// a live foreign owner's is not, and the lock goes away whatever fn does.

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStale, LockTimeout, readLockOwner, withLock } from "../../f/common/lock.ts";
import { findMarked, isRunning, lineageMarker, procStat } from "../../f/common/proc.ts";
import { run } from "../../f/common/run.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kdevflow-lock-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid of a process that has exited (so certainly not alive now). */
async function deadPid(): Promise<number> {
  const child = spawn("true");
  await new Promise((r) => child.on("exit", r));
  return child.pid!;
}

describe("withLock", () => {
  it("serialises two concurrent holders and the waiter says what it waits for and who holds it", async () => {
    const path = join(dir, "a.lock");
    const events: string[] = [];
    const logs: string[] = [];
    const holder = (name: string) =>
      withLock(path, { what: "the linux mirror", pollMs: 20, log: (l) => logs.push(`${name}: ${l}`) }, async () => {
        events.push(`${name} start`);
        await sleep(150);
        events.push(`${name} end`);
        return name;
      });
    const results = await Promise.all([holder("one"), holder("two")]);
    expect(results).toEqual(["one", "two"]);
    // Either may win the race for the file; the other waits until the winner is done.
    const first = events[0]!.split(" ")[0]!;
    const second = first === "one" ? "two" : "one";
    expect(events).toEqual([`${first} start`, `${first} end`, `${second} start`, `${second} end`]);
    expect(logs[0]).toMatch(new RegExp(`^${second}: lock: waiting for the linux mirror, held by pid ${process.pid} since \\d{4}-\\d\\d-\\d\\dT`));
    expect(logs[1]).toMatch(new RegExp(`^${second}: lock: got the linux mirror after \\d+\\.\\d s$`));
    expect(logs).toHaveLength(2);
    expect(existsSync(path)).toBe(false);
  });

  it("serialises holders in separate processes", async () => {
    const path = join(dir, "b.lock");
    const journal = join(dir, "journal");
    await writeFile(journal, "");
    const lockModule = resolve(import.meta.dirname, "../../f/common/lock.ts");
    const script = `
      import { appendFileSync, existsSync, writeFileSync } from "node:fs";
      import { withLock } from ${JSON.stringify(lockModule)};
      const [path, journal, name, other] = process.argv.slice(2);
      // Both processes ask for the lock at the same moment, however slowly each started.
      writeFileSync(journal + ".ready-" + name, "");
      while (!existsSync(journal + ".ready-" + other)) await new Promise((r) => setTimeout(r, 5));
      await withLock(path, { what: "the journal", pollMs: 20 }, async () => {
        appendFileSync(journal, name + " start\\n");
        await new Promise((r) => setTimeout(r, 300));
        appendFileSync(journal, name + " end\\n");
      });`;
    const scriptPath = join(dir, "holder.ts");
    await writeFile(scriptPath, script);
    const bun = resolve(import.meta.dirname, "../../node_modules/.bin/bun");
    const [a, b] = await Promise.all([
      run([bun, scriptPath, path, journal, "A", "B"], { capture: true, quiet: true, timeoutMs: 60_000 }),
      run([bun, scriptPath, path, journal, "B", "A"], { capture: true, quiet: true, timeoutMs: 60_000 }),
    ]);
    const lines = (await readFile(journal, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(4);
    // Whoever went first finished before the other started.
    expect(lines[0]!.split(" ")[0]).toBe(lines[1]!.split(" ")[0]);
    expect(lines[2]!.split(" ")[0]).toBe(lines[3]!.split(" ")[0]);
    expect(lines.map((l) => l.split(" ")[1])).toEqual(["start", "end", "start", "end"]);
    // And the one that waited said so.
    expect(`${a.stdout}${b.stdout}`).toMatch(/lock: waiting for the journal, held by pid \d+/);
  });

  it("takes over the lock of an owner on this host that no longer runs, and says so", async () => {
    const path = join(dir, "c.lock");
    const pid = await deadPid();
    await writeFile(path, JSON.stringify({ pid, host: hostname(), since: "2020-01-01T00:00:00.000Z", what: "x" }));
    const logs: string[] = [];
    const got = await withLock(path, { what: "the qemu bare", log: (l) => logs.push(l), timeoutMs: 5000 }, async () => "ran");
    expect(got).toBe("ran");
    // An old-style record (no start time, no marker) cannot say what the owner started.
    expect(logs).toEqual([`lock: taking over the stale lock on the qemu bare: pid ${pid} is gone (its lock does not say how to find what it started)`]);
    expect(existsSync(path)).toBe(false);
  });

  it("does not take over a lock held on another host: it waits and times out naming the holder", async () => {
    const path = join(dir, "d.lock");
    const pid = await deadPid();
    await writeFile(path, JSON.stringify({ pid, host: "some-other-host", since: "2020-01-01T00:00:00.000Z", what: "x" }));
    const logs: string[] = [];
    const err = await withLock(path, { what: "the store", timeoutMs: 200, pollMs: 20, log: (l) => logs.push(l) }, async () => "ran").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeout);
    expect((err as Error).message).toBe(`timed out waiting for the lock ${path} held by pid ${pid} on some-other-host since 2020-01-01T00:00:00.000Z`);
    expect(logs).toEqual([`lock: waiting for the store, held by pid ${pid} since 2020-01-01T00:00:00.000Z`]);
    expect(existsSync(path)).toBe(true);
  });

  it("takes over an empty lock file (its writer died between create and write) after a grace period", async () => {
    const path = join(dir, "e.lock");
    await writeFile(path, "");
    const logs: string[] = [];
    const started = Date.now();
    await withLock(path, { what: "the slot", pollMs: 50, log: (l) => logs.push(l) }, async () => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(logs).toContain("lock: taking over the stale lock on the slot: its record is unreadable");
  });

  it("releases the lock when fn throws, and the error comes through", async () => {
    const path = join(dir, "f.lock");
    await expect(withLock(path, { what: "w" }, async () => { throw new Error("build failed"); })).rejects.toThrow("build failed");
    expect(existsSync(path)).toBe(false);
  });

  it("does not remove a lock that another owner holds by the time fn returns", async () => {
    const path = join(dir, "g.lock");
    const other = JSON.stringify({ pid: 1, host: hostname(), since: "later", what: "someone else" });
    await withLock(path, { what: "w" }, async () => {
      await writeFile(path, other);
    });
    expect(await readFile(path, "utf8")).toBe(other);
  });

  it("creates the lock's folder", async () => {
    const path = join(dir, "deep", "er", "h.lock");
    expect(await withLock(path, { what: "w" }, async () => existsSync(path))).toBe(true);
  });
});

describe("isStale", () => {
  it("is false for no owner, a live pid, or another host; true for a dead pid here", async () => {
    const dead = await deadPid();
    expect(isStale(null)).toBe(false);
    expect(isStale({ pid: process.pid, host: hostname(), since: "", what: "" })).toBe(false);
    expect(isStale({ pid: dead, host: "elsewhere", since: "", what: "" })).toBe(false);
    expect(isStale({ pid: dead, host: hostname(), since: "", what: "" })).toBe(true);
  });
});

describe("a holder that died with commands still running", () => {
  const BUN = resolve(import.meta.dirname, "../../node_modules/.bin/bun");
  const LOCK = resolve(import.meta.dirname, "../../f/common/lock.ts");
  const RUN = resolve(import.meta.dirname, "../../f/common/run.ts");

  /** A Bun process that takes the lock and runs a command that starts two sleeps; resolves once they run. */
  async function holder(path: string): Promise<{ pid: number; start: number }> {
    const script = join(dir, `holder-${Math.random().toString(36).slice(2)}.ts`);
    await writeFile(
      script,
      `import { withLock } from ${JSON.stringify(LOCK)};
       import { run } from ${JSON.stringify(RUN)};
       await withLock(${JSON.stringify(path)}, { what: "the worktree" }, () =>
         run(["bash", "-c", 'sleep 30 & sleep 30 & echo started; wait']));`,
    );
    const child = spawn(BUN, [script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    for (let i = 0; i < 1000 && !out.split("\n").includes("started"); i++) await sleep(20);
    expect(out.split("\n")).toContain("started");
    return { pid: child.pid!, start: procStat(child.pid!)!.start };
  }

  it("the next holder ends what the dead one left running and says so in one sentence", async () => {
    const path = join(dir, "dead-holder.lock");
    const h = await holder(path);
    const owner = readLockOwner(path)!;
    expect(owner).toMatchObject({ pid: h.pid, start: h.start, marker: lineageMarker(h.pid, h.start) });
    // Everything dies at once but the commands: the holder and its reaper, by SIGKILL
    // (as when a whole worker container's main processes are killed, or a reaper is lost).
    const marked = findMarked(lineageMarker(h.pid, h.start));
    const reaper = marked.find((p) => readFileSync(`/proc/${p.pid}/cmdline`, "utf8").includes("kdevflow-reaper"))!;
    expect(reaper).toBeDefined();
    process.kill(reaper.pid, "SIGKILL");
    process.kill(h.pid, "SIGKILL");
    await sleep(1000);
    const survivors = findMarked(lineageMarker(h.pid, h.start));
    expect(survivors.map((p) => p.comm).sort()).toEqual(["bash", "sleep", "sleep"]);

    const logs: string[] = [];
    expect(await withLock(path, { what: "the worktree", log: (l) => logs.push(l) }, async () => "mine")).toBe("mine");
    expect(logs).toEqual([`lock: taking over the stale lock on the worktree: pid ${h.pid} is gone but 3 processes (2 × sleep, bash) it started were still running; ended them`]);
    expect(findMarked(lineageMarker(h.pid, h.start))).toEqual([]);
    for (const p of survivors) expect(isRunning(p.pid, p.start)).toBe(false);
  });

  it("a record whose pid now runs another process is stale", () => {
    const me = procStat(process.pid)!;
    expect(isStale({ pid: process.pid, start: me.start, host: hostname(), since: "", what: "" })).toBe(false);
    expect(isStale({ pid: process.pid, start: me.start + 1, host: hostname(), since: "", what: "" })).toBe(true);
  });

  it("a lock is released when its holder exits from inside fn (process.exit, as a signal handler does)", async () => {
    const path = join(dir, "exit.lock");
    const script = join(dir, "exit-holder.ts");
    await writeFile(script, `import { withLock } from ${JSON.stringify(LOCK)};
      await withLock(${JSON.stringify(path)}, { what: "w" }, async () => { console.log("held"); process.exit(3); });`);
    const res = await run([BUN, script], { capture: true, quiet: true, allowFailure: true });
    expect(res.exitCode).toBe(3);
    expect(res.stdout).toContain("held");
    expect(existsSync(path)).toBe(false);
  });
});
