// The Workbench with real git: mirrors, Bares and warm worktrees provisioned from
// small upstream repositories this file makes, including the faults a crash leaves
// behind and two runs racing. Steps run in this process (their main()) or, where a
// run must be killed or must race another, as separate Bun processes.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { findMarked, lineageMarker, procStat } from "../../f/common/proc.ts";
import { keepBranch } from "../../f/workbench/bare.ts";
import { main as prepare } from "../../f/workbench/prepare_worktree.ts";
import { main as syncBares } from "../../f/workbench/sync_bares.ts";
import { main as syncMirrors } from "../../f/workbench/sync_mirrors.ts";
import type { SourceReport } from "../../f/workbench/report.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const GIT_ENV = {
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.invalid",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
};

let tmp: string;
let big: string | undefined;
/** The larger upstream, made once for the tests that need one. */
const bigUpstream = () => (big ??= makeBigUpstream(join(tmp, "up-big.git")));

function g(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** A small upstream: a tree of files, v1 (annotated), then one file changed, v2, and a stable branch. */
function makeUpstream(dir: string): { url: string; v1: string; v2: string; work: string } {
  const work = `${dir}-work`;
  mkdirSync(join(work, "sub/deeper"), { recursive: true });
  g(work, "init", "-q", "-b", "master");
  for (const f of ["a.c", "b.c", "c.h", "Makefile", "sub/d.c", "sub/deeper/e.c"]) writeFileSync(join(work, f), `/* ${f} */\n`);
  g(work, "add", "-A");
  g(work, "commit", "-qm", "one");
  g(work, "tag", "-a", "v1", "-m", "v1");
  const v1 = g(work, "rev-parse", "HEAD");
  writeFileSync(join(work, "sub/d.c"), "/* d.c, changed */\n");
  g(work, "commit", "-qam", "two");
  g(work, "tag", "v2");
  g(work, "branch", "stable", "v1");
  const v2 = g(work, "rev-parse", "HEAD");
  execFileSync("git", ["clone", "-q", "--bare", work, dir], { env: { ...process.env, ...GIT_ENV } });
  return { url: dir, v1, v2, work };
}

/** A larger upstream (thousands of files), so a clone or checkout takes long enough to be caught. */
function makeBigUpstream(dir: string, files = 8000): string {
  const work = `${dir}-work`;
  for (let d = 0; d < files / 100; d++) {
    mkdirSync(join(work, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(work, `d${d}`, `f${f}.c`), createHash("sha512").update(`${d}/${f}`).digest("hex").repeat(2));
  }
  g(work, "init", "-q", "-b", "master");
  g(work, "add", "-A");
  g(work, "commit", "-qm", "big");
  g(work, "tag", "v1");
  execFileSync("git", ["clone", "-q", "--bare", work, dir], { env: { ...process.env, ...GIT_ENV } });
  return dir;
}

/** Every path under `dir` with its type, content hash, mode and mtime: "nothing changed" is equality. */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return ["<absent>"];
  const out: string[] = [];
  const walk = (p: string) => {
    for (const name of readdirSync(p).sort()) {
      const full = join(p, name);
      const st = lstatSync(full);
      const rel = full.slice(dir.length);
      if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.push(`${rel}/ ${st.mode}`);
        walk(full);
      } else out.push(`${rel} ${st.mode} ${st.mtimeMs} ${createHash("sha1").update(readFileSync(full)).digest("hex")}`);
    }
  };
  walk(dir);
  return out;
}

function useWorkbench(wb: string, extra: Record<string, string> = {}) {
  for (const k of ["SYSTEM_DIR", "WORKERS_DIR", "WORKER_INDEX", "KDEVFLOW_WORKBENCH"]) delete process.env[k];
  Object.assign(process.env, { KDEVFLOW_WORKBENCH: wb }, extra);
}

async function init(sources: { name: string; url: string; refresh_minutes?: number }[]): Promise<SourceReport[]> {
  return syncBares(await syncMirrors("init", { sources }));
}

async function fetchAll(sources: { name: string; url: string; refresh_minutes?: number }[], onlyDue = false): Promise<SourceReport[]> {
  return syncBares(await syncMirrors("fetch", { sources, only_due: onlyDue }));
}

async function inputError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect((err as Error).name).toBe("InputError");
    // One sentence: it ends with a full stop and has no other sentence break.
    expect((err as Error).message).toMatch(/\.$/);
    expect((err as Error).message.slice(0, -1)).not.toMatch(/\.\s+[A-Z]/);
    return err as Error;
  }
  throw new Error("expected an InputError");
}

/** A step in its own Bun process, so it can be killed or race another. */
interface Child {
  proc: ChildProcess;
  output: () => string;
  done: Promise<number | null>;
}

function spawnStep(code: string, env: Record<string, string>): Child {
  const proc = spawn(BUN, ["-e", code], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const done = new Promise<number | null>((r) => proc.on("close", (code) => r(code)));
  return { proc, output: () => out, done };
}

const stepImport = (file: string) => JSON.stringify(join(ROOT, "f/workbench", file));
const prepareCode = (project: string, ref: string) => `const m = await import(${stepImport("prepare_worktree.ts")}); const r = await m.main(${JSON.stringify(project)}, ${JSON.stringify(ref)}); console.log("RESULT " + JSON.stringify(r));`;
const fetchCode = (sources: unknown) =>
  `const a = await import(${stepImport("sync_mirrors.ts")}); const b = await import(${stepImport("sync_bares.ts")}); const r = await b.main(await a.main("fetch", { sources: ${JSON.stringify(sources)} })); console.log("RESULT " + JSON.stringify(r));`;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "kdevflow-workbench-"));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe("init and fetch", () => {
  let wb: string;
  let up: ReturnType<typeof makeUpstream>;
  let sources: { name: string; url: string; refresh_minutes?: number }[];

  beforeAll(() => {
    up = makeUpstream(join(tmp, "up-init.git"));
    wb = join(tmp, "wb-init");
    sources = [{ name: "proj", url: up.url, refresh_minutes: 60 }];
  });
  beforeEach(() => useWorkbench(wb));

  it("provisions a mirror and a Bare that borrows its objects, and reports them per source", async () => {
    const [r] = await init(sources);
    expect(r).toMatchObject({
      name: "proj",
      url: up.url,
      mirror: join(wb, "system/mirror/proj.git"),
      bare: join(wb, "system/bare/proj.git"),
      action: { mirror: "created", bare: "created" },
      error: null,
    });
    expect(r!.mirror_refs).toBe(4); // master, stable, v1, v2
    expect(r!.changes.mirror!.new).toEqual(["refs/heads/master", "refs/heads/stable", "refs/tags/v1", "refs/tags/v2"]);
    expect(r!.changes.bare!.new).toEqual(["refs/remotes/mirror/master", "refs/remotes/mirror/stable", "refs/tags/v1", "refs/tags/v2"]);
    const bare = r!.bare!;
    expect(readFileSync(join(bare, "objects/info/alternates"), "utf8")).toBe(`${join(r!.mirror!, "objects")}\n`);
    expect(g(bare, "rev-parse", "--is-bare-repository")).toBe("true");
    expect(g(bare, "for-each-ref", "--format=%(refname)", "refs/heads")).toBe("");
    // The Bare holds no objects of its own: everything comes through the alternate.
    expect(g(bare, "count-objects", "-v")).toMatch(/^count: 0$/m);
    expect(g(bare, "count-objects", "-v")).toMatch(/^in-pack: 0$/m);
    expect(g(bare, "cat-file", "-t", up.v2)).toBe("commit");
    // The mirror keeps unreachable objects a Bare's developer branch may still need.
    expect(g(r!.mirror!, "config", "gc.pruneExpire")).toBe("never");
    expect(JSON.parse(readFileSync(join(r!.mirror!, "kdevflow-mirror.json"), "utf8"))).toMatchObject({ url: up.url });
  });

  it("leaves the same state when run twice, and says nothing changed", async () => {
    const repos = join(wb, "system");
    const before = snapshot(repos).filter((l) => !l.startsWith("/locks"));
    const [r] = await init(sources);
    expect(r!.action).toEqual({ mirror: "unchanged", bare: "fetched" });
    expect(r!.changes.mirror!.counts).toEqual({ new: 0, updated: 0, deleted: 0 });
    expect(r!.changes.bare!.counts).toEqual({ new: 0, updated: 0, deleted: 0 });
    // Refs, config, alternates and markers are byte-for-byte what they were; git may
    // only have touched FETCH_HEAD.
    const after = snapshot(repos).filter((l) => !l.startsWith("/locks"));
    const significant = (lines: string[]) => lines.filter((l) => !l.includes("FETCH_HEAD")).map((l) => l.replace(/ [\d.]+ ([0-9a-f]{40})$/, " $1"));
    expect(significant(after)).toEqual(significant(before));
  });

  it("fetch picks up new commits, branches and tags, prunes deleted branches, and never touches a developer branch", async () => {
    const bare = join(wb, "system/bare/proj.git");
    // A developer branch in the Bare, on a commit made in a worktree.
    const wt = (await prepare("proj", "v2")).worktree;
    writeFileSync(join(wt, "a.c"), "/* developer change */\n");
    g(wt, "commit", "-qam", "dev");
    const devCommit = g(wt, "rev-parse", "HEAD");
    const kept = await keepBranch("proj", "b4/my-series", devCommit);
    expect(kept).toMatchObject({ ref: "refs/heads/b4/my-series", commit: devCommit, previous: null });
    // A developer branch named like an upstream one is still the developer's.
    await keepBranch("proj", "master", up.v1);

    // Upstream moves on: a new commit on master, a new branch, a new tag, a deleted branch.
    writeFileSync(join(up.work, "b.c"), "/* b.c, three */\n");
    g(up.work, "commit", "-qam", "three");
    g(up.work, "tag", "-a", "v3", "-m", "v3");
    g(up.work, "branch", "feature");
    const v3 = g(up.work, "rev-parse", "HEAD");
    g(up.work, "push", "-q", "--force", up.url, "master", "feature", "v3");
    g(up.work, "push", "-q", up.url, ":stable");

    const [r] = await fetchAll(sources);
    expect(r!.action).toEqual({ mirror: "refreshed", bare: "fetched" });
    expect(r!.changes.mirror).toMatchObject({ new: ["refs/heads/feature", "refs/tags/v3"], updated: ["refs/heads/master"], deleted: ["refs/heads/stable"] });
    expect(r!.changes.bare).toMatchObject({ new: ["refs/remotes/mirror/feature", "refs/tags/v3"], updated: ["refs/remotes/mirror/master"], deleted: ["refs/remotes/mirror/stable"] });
    expect(g(bare, "rev-parse", "refs/remotes/mirror/master")).toBe(v3);
    expect(g(bare, "rev-parse", "v3^{commit}")).toBe(v3);
    expect(r!.branches).toBe(2);
    expect(g(bare, "rev-parse", "refs/heads/b4/my-series")).toBe(devCommit);
    expect(g(bare, "rev-parse", "refs/heads/master")).toBe(up.v1);

    // And again, with nothing new upstream: nothing changes, the branches stay.
    const [again] = await fetchAll(sources);
    expect(again!.changes.bare!.counts).toEqual({ new: 0, updated: 0, deleted: 0 });
    expect(g(bare, "rev-parse", "refs/heads/b4/my-series")).toBe(devCommit);
    expect(g(bare, "rev-parse", "refs/heads/master")).toBe(up.v1);
    // The developer branch is a ref a build can ask for.
    expect((await prepare("proj", "b4/my-series")).commit).toBe(devCommit);
  });

  it("with only_due, skips a source refreshed less than its interval ago", async () => {
    const [r] = await fetchAll(sources, true);
    expect(r!.action.mirror).toBe("skipped");
    const [forced] = await fetchAll([{ name: "proj", url: up.url }], true);
    expect(forced!.action.mirror).toBe("refreshed");
  });

  it("two fetches at once both succeed", async () => {
    writeFileSync(join(up.work, "c.h"), "/* c.h, four */\n");
    g(up.work, "commit", "-qam", "four");
    g(up.work, "push", "-q", up.url, "master");
    const env = { KDEVFLOW_WORKBENCH: wb };
    const a = spawnStep(fetchCode(sources), env);
    const b = spawnStep(fetchCode(sources), env);
    const [ca, cb] = await Promise.all([a.done, b.done]);
    expect(ca, a.output()).toBe(0);
    expect(cb, b.output()).toBe(0);
    const results = [a, b].map((c) => JSON.parse(/^RESULT (.*)$/m.exec(c.output())![1]!) as SourceReport[]);
    // Exactly one of them saw master move; both end with the same refs.
    const moved = results.map((r) => r[0]!.changes.mirror!.updated.includes("refs/heads/master"));
    expect(moved.filter(Boolean)).toHaveLength(1);
    expect(results[0]![0]!.bare_refs).toBe(results[1]![0]!.bare_refs);
    expect(g(join(wb, "system/bare/proj.git"), "rev-parse", "refs/remotes/mirror/master")).toBe(g(up.work, "rev-parse", "HEAD"));
  });
});

describe("repairs on the next init", () => {
  let up: ReturnType<typeof makeUpstream>;
  let wb: string;
  beforeAll(async () => {
    up = makeUpstream(join(tmp, "up-repair.git"));
    wb = join(tmp, "wb-repair");
    useWorkbench(wb);
    await init([{ name: "proj", url: up.url }]);
  });
  beforeEach(() => useWorkbench(wb));

  it("follows a source whose URL changed", async () => {
    const moved = join(tmp, "up-repair-moved.git");
    execFileSync("git", ["clone", "-q", "--bare", up.url, moved]);
    const [r] = await init([{ name: "proj", url: moved }]);
    expect(r!.repaired).toContain(`upstream URL changed from ${up.url} to ${moved}`);
    expect(r!.action.mirror).toBe("refreshed");
    expect(g(r!.mirror!, "config", "remote.origin.url")).toBe(moved);
    const [again] = await init([{ name: "proj", url: moved }]);
    expect(again!.action.mirror).toBe("unchanged");
    expect(again!.repaired).toEqual([]);
  });

  it("sets an unreadable Bare aside, never deleting it, and provisions a new one", async () => {
    const bare = join(wb, "system/bare/proj.git");
    rmSync(join(bare, "HEAD"));
    const [r] = await init([{ name: "proj", url: join(tmp, "up-repair-moved.git") }]);
    expect(r!.repaired.join(" ")).toMatch(/moved an unreadable Bare aside to .*proj\.git\.broken-\d+/);
    expect(r!.action.bare).toBe("created");
    expect(readdirSync(join(wb, "system/bare")).filter((n) => n.startsWith("proj.git.broken-"))).toHaveLength(1);
    expect(g(bare, "rev-parse", "v2")).toBe(up.v2);
  });

  it("takes a Workbench reached through a symlink as it is: nothing to repair on a re-sync", async () => {
    const link = join(tmp, "wb-repair-link");
    symlinkSync(wb, link);
    useWorkbench(link);
    expect((await prepare("proj", "v1")).worktree).toBe(join(link, "workers/0/proj"));
    const again = await prepare("proj", "v2");
    expect(again).toMatchObject({ action: "synced", repaired: [], commit: up.v2 });
  });

  it("adds a worktree again when its directory was deleted while git had it locked", async () => {
    const first = await prepare("proj", "v1");
    g(join(wb, "system/bare/proj.git"), "worktree", "lock", "--reason", "test", first.worktree);
    rmSync(first.worktree, { recursive: true });
    const again = await prepare("proj", "v2");
    expect(again.action).toBe("created");
    expect(g(again.worktree, "rev-parse", "HEAD")).toBe(up.v2);
  });

  it("adds a worktree again when its directory was deleted", async () => {
    const first = await prepare("proj", "v1");
    rmSync(first.worktree, { recursive: true });
    const again = await prepare("proj", "v2");
    expect(again.action).toBe("created");
    expect(g(again.worktree, "rev-parse", "HEAD")).toBe(up.v2);
    const listed = g(join(wb, "system/bare/proj.git"), "worktree", "list", "--porcelain").split("\n").filter((l) => l.startsWith("worktree ") && !l.endsWith(".git"));
    expect(listed).toEqual([`worktree ${again.worktree}`]);
  });
});

describe("bad input to init changes nothing on disk", () => {
  let up: ReturnType<typeof makeUpstream>;
  let wb: string;
  beforeAll(() => {
    up = makeUpstream(join(tmp, "up-bad.git"));
    wb = join(tmp, "wb-bad");
  });

  it.each([
    ["a URL that is not a git repository", () => [{ name: "proj", url: join(tmp, "not-a-repo") }], {}, /^sources\[0\]\.url: expected a git repository git ls-remote can read/],
    ["a source name with '/'", () => [{ name: "a/b", url: up.url }], {}, /^sources\[0\]\.name: expected a name/],
    ["a source name with '..'", () => [{ name: "..", url: up.url }], {}, /^sources\[0\]\.name: expected a name/],
    ["a relative SYSTEM_DIR", () => [{ name: "proj", url: up.url }], { SYSTEM_DIR: "system" }, /^SYSTEM_DIR: expected an absolute path, got "system"\.$/],
    ["a non-numeric WORKER_INDEX", () => [{ name: "proj", url: up.url }], { WORKER_INDEX: "one" }, /^WORKER_INDEX: expected a non-negative whole number, got "one"\.$/],
  ])("%s", async (_what, sources, env, message) => {
    mkdirSync(join(tmp, "not-a-repo"), { recursive: true });
    useWorkbench(wb, env as Record<string, string>);
    const before = snapshot(tmp);
    const err = await inputError(init(sources()));
    expect(err.message).toMatch(message);
    expect(snapshot(tmp)).toEqual(before);
    expect(existsSync(wb)).toBe(false);
  });
});

describe("an interrupted mirror clone", () => {
  let big: string;
  let wb: string;
  beforeAll(() => {
    big = bigUpstream();
    wb = join(tmp, "wb-kill");
  });
  beforeEach(() => useWorkbench(wb));

  it("killed halfway is redone by the next init", async () => {
    const url = `file://${big}`;
    const incoming = join(wb, "system/mirror/.big.git.incoming");
    const child = spawnStep(`const m = await import(${stepImport("sync_mirrors.ts")}); await m.main("init", { sources: ${JSON.stringify([{ name: "big", url }])} });`, { KDEVFLOW_WORKBENCH: wb });
    await waitFor("the clone to start", () => existsSync(join(incoming, "objects")));
    // Everything dies at once, as when the machine loses power: the clone and the step's
    // reaper first (a reaper would end git with SIGTERM, and git would remove its own
    // half-made clone), then the step.
    const step = child.proc.pid!;
    for (const p of findMarked(lineageMarker(step, procStat(step)!.start))) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        /* it ended between the listing and the kill */
      }
    }
    process.kill(-step, "SIGKILL");
    await child.done;
    expect(existsSync(join(wb, "system/mirror/big.git/kdevflow-mirror.json"))).toBe(false);

    const [r] = await init([{ name: "big", url }]);
    expect(r!.repaired).toContain("removed an interrupted clone");
    expect(r!.action.mirror).toBe("created");
    expect(existsSync(incoming)).toBe(false);
    expect(g(r!.mirror!, "rev-parse", "v1^{commit}")).toBe(g(big, "rev-parse", "v1^{commit}"));
    g(r!.mirror!, "fsck", "--connectivity-only", "--no-progress");
  });

  it("a mirror without its completion marker is cloned again, never taken as complete", async () => {
    const mirror = join(wb, "system/mirror/big.git");
    rmSync(join(mirror, "kdevflow-mirror.json"));
    rmSync(join(mirror, "objects"), { recursive: true, force: true }); // as if cut short
    const [r] = await init([{ name: "big", url: `file://${big}` }]);
    expect(r!.repaired).toContain("re-cloned a mirror whose clone never completed");
    g(mirror, "fsck", "--connectivity-only", "--no-progress");
    expect(r!.error).toBeNull();
  });
});

describe("prepare_worktree", () => {
  let up: ReturnType<typeof makeUpstream>;
  let wb: string;
  const wt = () => join(wb, "workers/0/proj");

  beforeAll(async () => {
    up = makeUpstream(join(tmp, "up-wt.git"));
    wb = join(tmp, "wb-wt");
    useWorkbench(wb);
    await init([{ name: "proj", url: up.url }]);
  });
  beforeEach(() => useWorkbench(wb));

  it("adds the worker's worktree at a tag, with build/ and destdir/ inside", async () => {
    const r = await prepare("proj", "v1");
    const tree = g(up.work, "rev-parse", "v1^{tree}");
    expect(r).toMatchObject({ worktree: wt(), build_dir: join(wt(), "build"), destdir: join(wt(), "destdir"), commit: up.v1, ref: "v1", tree, slot: "0", action: "created" });
    expect(statSync(r.build_dir).isDirectory() && statSync(r.destdir).isDirectory()).toBe(true);
    expect(g(wt(), "rev-parse", "HEAD")).toBe(up.v1);
    expect(g(wt(), "status", "--porcelain")).toBe(""); // build/ and destdir/ are excluded
    expect(g(join(wb, "system/bare/proj.git"), "worktree", "list", "--porcelain")).toContain(`worktree ${wt()}`);
  });

  it.each([
    ["a tag", "v2", "v2"],
    ["an annotated tag", "v1", "v1"],
    ["an upstream branch as mirror/<branch>", "mirror/stable", "v1"],
    ["an upstream branch by its name", "master", "v2"],
    ["a full commit id", "<v2>", "v2"],
    ["an abbreviated commit id", "<v1:8>", "v1"],
  ])("resolves %s", async (_what, ref, want) => {
    const sha = want === "v1" ? up.v1 : up.v2;
    const given = ref.replace("<v2>", up.v2).replace("<v1:8>", up.v1.slice(0, 8));
    const r = await prepare("proj", given);
    expect(r.commit).toBe(sha);
    expect(r.ref).toBe(given);
    expect(g(wt(), "rev-parse", "HEAD")).toBe(sha);
  });

  it("switching between two refs that differ in one file leaves every other file's mtime alone", async () => {
    await prepare("proj", "v1");
    const files = g(wt(), "ls-files").split("\n");
    const old = new Date("2020-01-01T00:00:00Z");
    for (const f of files) utimesSync(join(wt(), f), old, old);
    writeFileSync(join(wt(), "build", "a.o"), "object");
    const r = await prepare("proj", "v2");
    expect(r.commit).toBe(up.v2);
    for (const f of files) {
      const changed = statSync(join(wt(), f)).mtimeMs !== old.getTime();
      expect(changed, f).toBe(f === "sub/d.c");
    }
    expect(readFileSync(join(wt(), "sub/d.c"), "utf8")).toBe("/* d.c, changed */\n");
    expect(readFileSync(join(wt(), "build", "a.o"), "utf8")).toBe("object");
  });

  it("repairs a worktree whose admin directory was deleted, keeping its files and their mtimes", async () => {
    await prepare("proj", "v1");
    const admin = resolve(wt(), readFileSync(join(wt(), ".git"), "utf8").replace(/^gitdir: /, "").trim());
    rmSync(admin, { recursive: true });
    const old = new Date("2020-01-01T00:00:00Z");
    utimesSync(join(wt(), "a.c"), old, old);
    const logged: string[] = [];
    const keep = (chunk: unknown) => void logged.push(String(chunk));
    const out = vi.spyOn(process.stdout, "write").mockImplementation((c) => (keep(c), true));
    const err = vi.spyOn(process.stderr, "write").mockImplementation((c) => (keep(c), true));
    let r;
    try {
      r = await prepare("proj", "v2");
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(r.action).toBe("repaired");
    expect(r.repaired.join(" ")).toMatch(/admin directory is gone/);
    expect(g(wt(), "rev-parse", "HEAD")).toBe(up.v2);
    expect(g(wt(), "status", "--porcelain")).toBe("");
    expect(statSync(join(wt(), "a.c")).mtimeMs).toBe(old.getTime());
    expect(g(join(wb, "system/bare/proj.git"), "worktree", "list", "--porcelain")).toContain(`worktree ${wt()}`);
    expect(existsSync(join(wb, "workers/0/.adopt"))).toBe(false);
    // The new admin directory keeps the worktree's own name, and git's expected
    // "repair: gitdir incorrect" note stays out of the log.
    expect(readFileSync(join(wt(), ".git"), "utf8").trim()).toBe(`gitdir: ${join(realpathSync(join(wb, "system/bare/proj.git")), "worktrees", "proj")}`);
    expect(logged.join("\n")).not.toMatch(/gitdir incorrect/);
  });

  it("repairs a stale worktree lock and a stale git index.lock", async () => {
    const dead = spawn("true");
    await new Promise((r) => dead.on("close", r));
    const lock = join(wb, "system/locks/worktree-0-proj.lock");
    writeFileSync(lock, JSON.stringify({ pid: dead.pid, host: (await import("node:os")).hostname(), since: "2020-01-01T00:00:00Z", what: "worktree 0/proj" }));
    const admin = resolve(wt(), readFileSync(join(wt(), ".git"), "utf8").replace(/^gitdir: /, "").trim());
    writeFileSync(join(admin, "index.lock"), "");
    const child = spawnStep(prepareCode("proj", "v1"), { KDEVFLOW_WORKBENCH: wb });
    expect(await child.done, child.output()).toBe(0);
    expect(child.output()).toMatch(/taking over the stale lock on worktree 0\/proj/);
    expect(child.output()).toMatch(/removed a stale index\.lock/);
    expect(existsSync(lock)).toBe(false);
    expect(g(wt(), "rev-parse", "HEAD")).toBe(up.v1);
  });

  it("uses a shared named tree with shared, and recreates a tree on request", async () => {
    const shared = await prepare("proj", "v2", true);
    expect(shared).toMatchObject({ worktree: join(wb, "workers/shared/proj"), slot: "shared", commit: up.v2 });
    const named = await prepare("proj", "v1", true, false, "bisect");
    expect(named).toMatchObject({ worktree: join(wb, "workers/bisect/proj"), slot: "bisect", commit: up.v1 });
    writeFileSync(join(shared.build_dir, "stale.o"), "x");
    const again = await prepare("proj", "v2", true, true);
    expect(again.action).toBe("recreated");
    expect(existsSync(join(again.build_dir, "stale.o"))).toBe(false);
    expect(g(again.worktree, "rev-parse", "HEAD")).toBe(up.v2);
  });

  describe("bad input changes nothing on disk", () => {
    it.each([
      ["an unknown project", "linux", "v1", {}, /^project: expected one of proj, got "linux"\.$/],
      ["a project name with '/'", "../proj", "v1", {}, /^project: expected a name/],
      ["a ref that is not in the Bare, naming the close ones", "proj", "v3", {}, /^ref: expected a tag, branch, mirror\/<branch> or commit id in the proj Bare \(closest: v1, v2\), got "v3"\.$/],
      ["a commit id that is not in the Bare", "proj", "deadbeefdeadbeef", {}, /^ref: expected a tag, branch, mirror\/<branch> or commit id in the proj Bare/],
      ["a ref with spaces", "proj", "v1 v2", {}, /^ref: expected a tag, branch/],
      ["a non-numeric WORKER_INDEX", "proj", "v1", { WORKER_INDEX: "w1" }, /^WORKER_INDEX: expected a non-negative whole number, got "w1"\.$/],
      ["a relative SYSTEM_DIR", "proj", "v1", { SYSTEM_DIR: "rel/system" }, /^SYSTEM_DIR: expected an absolute path, got "rel\/system"\.$/],
    ])("%s", async (_what, project, ref, env, message) => {
      useWorkbench(wb, env as Record<string, string>);
      const before = snapshot(wb);
      const err = await inputError(prepare(project, ref));
      expect(err.message).toMatch(message);
      expect(snapshot(wb)).toEqual(before);
    });

    it("a numeric shared name and a bad developer branch", async () => {
      const before = snapshot(wb);
      expect((await inputError(prepare("proj", "v1", true, false, "7"))).message).toMatch(/^sharedName: expected a name that is not a number/);
      expect((await inputError(keepBranch("proj", "bad..name", up.v1))).message).toMatch(/^branch: expected a branch name/);
      expect((await inputError(keepBranch("proj", "b4/ok", "0".repeat(40)))).message).toMatch(/^commit: expected a commit in the proj Bare/);
      expect(snapshot(wb)).toEqual(before);
    });
  });

  it("two prepares on one slot at once, outside any flow, are serialised on the worktree lock, the second says it waits, and both succeed (flow runs lease worktrees instead: worktree-lease.test.ts)", async () => {
    await init([{ name: "race", url: bigUpstream() }]);
    const env = { KDEVFLOW_WORKBENCH: wb };
    const lock = join(wb, "system/locks/worktree-0-race.lock");
    const a = spawnStep(prepareCode("race", "v1"), env);
    await waitFor("the first prepare to take the lock", () => existsSync(lock) && /worktree add/.test(a.output()));
    const b = spawnStep(prepareCode("race", "master"), env);
    const [ca, cb] = await Promise.all([a.done, b.done]);
    expect(ca, a.output()).toBe(0);
    expect(cb, b.output()).toBe(0);
    expect(b.output()).toMatch(/lock: waiting for worktree 0\/race, held by pid \d+/);
    expect(b.output()).toMatch(/lock: got worktree 0\/race after/);
    const ra = JSON.parse(/^RESULT (.*)$/m.exec(a.output())![1]!);
    const rb = JSON.parse(/^RESULT (.*)$/m.exec(b.output())![1]!);
    expect([ra.action, rb.action]).toEqual(["created", "synced"]);
    expect(ra.worktree).toBe(rb.worktree);
    expect(g(ra.worktree, "status", "--porcelain")).toBe("");
  });
});
