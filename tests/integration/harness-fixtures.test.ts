// The upstream fixtures, built for real (tar, git) from a small stand-in for Debian's
// linux-source tarball, in a private cache folder: the tag, the cut .gitignore, files
// the tree's own .gitignore names, concurrency under the lock, a killed build redone, a
// changed source rebuilt, stable commit ids. The last tests check the real Linux and
// QEMU fixtures every other integration test clones.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { capture, run } from "../../f/common/run.ts";
import { cloneUpstream, linuxUpstream, qemuUpstream } from "../harness/fixtures.ts";

let work: string;
const saved = { ...process.env };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "kdevflow-fixtures-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const k of ["KDEVFLOW_FIXTURES", "KDEVFLOW_LINUX_SOURCE"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** A tiny tree shaped like linux-source: Makefile, Debian's .gitignore, dotfiles, an ignored-but-tracked file. */
async function fakeLinuxTarball(name: string, sublevel: number): Promise<string> {
  const top = join(work, `${name}-tree`, "linux-source-6.1");
  await mkdir(join(top, "tools"), { recursive: true });
  await writeFile(join(top, "Makefile"), `VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = ${sublevel}\nEXTRAVERSION =\nNAME = Test\n`);
  await writeFile(join(top, ".gitignore"), ".*\n*.bin\n\n#\n# Debian packaging: ignore everything at the top level, since it isn't\n# included in our repository\n#\n/*\n!/debian/\n");
  await writeFile(join(top, ".clang-format"), "BasedOnStyle: LLVM\n");
  await writeFile(join(top, "tools", "firmware.bin"), "tracked although *.bin is ignored\n");
  await writeFile(join(top, "README"), "Linux kernel\n");
  const tarball = join(work, `${name}.tar.xz`);
  await run(["tar", "-cJf", tarball, "-C", join(work, `${name}-tree`), "linux-source-6.1"], { quiet: true });
  return tarball;
}

const git = (dir: string, ...args: string[]) => capture(["git", "--git-dir", dir, ...args]);

describe("linuxUpstream from a linux-source tarball", () => {
  it("builds once for concurrent callers, tags like kernel.org, commits every file and upstream's .gitignore", async () => {
    process.env.KDEVFLOW_FIXTURES = join(work, "cache-a");
    process.env.KDEVFLOW_LINUX_SOURCE = await fakeLinuxTarball("a", 7);
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    const [one, two] = await Promise.all([linuxUpstream(), linuxUpstream()]);
    expect(one).toEqual(two);
    expect(one).toMatchObject({ tag: "v6.1.7", version: "6.1.7", url: join(work, "cache-a", "linux.git"), dir: join(work, "cache-a", "linux.git") });
    expect(lines.filter((l) => l.includes("building the linux upstream repository"))).toHaveLength(1);
    expect(lines.some((l) => l.startsWith("fixtures: lock: waiting for the linux fixture repository"))).toBe(true);

    expect(await git(one!.dir, "rev-parse", "--is-bare-repository")).toBe("true");
    expect(await git(one!.dir, "cat-file", "-t", "v6.1.7")).toBe("tag"); // annotated, as upstream's
    expect((await git(one!.dir, "ls-tree", "-r", "--name-only", "v6.1.7")).split("\n").sort()).toEqual([".clang-format", ".gitignore", "Makefile", "README", "tools/firmware.bin"]);
    const ignore = await git(one!.dir, "show", "v6.1.7:.gitignore");
    expect(ignore).toContain("*.bin");
    expect(ignore).not.toMatch(/^\/\*$/m);
    expect(await git(one!.dir, "log", "-1", "--format=%s|%an|%aI", "v6.1.7")).toBe("Linux 6.1.7|kdevflow fixtures|2024-01-01T00:00:00+00:00");

    // What a Workbench does with it.
    const mirror = join(work, "mirror-a.git");
    await run(["git", "clone", "--quiet", "--mirror", one!.url, mirror]);
    expect(await git(mirror, "rev-parse", "v6.1.7^{commit}")).toBe(await git(one!.dir, "rev-parse", "v6.1.7^{commit}"));
    // No leftovers beside it.
    expect((await readdir(join(work, "cache-a"))).filter((e) => e.startsWith(".linux-build-"))).toEqual([]);
  });

  it("returns the cached repository without building again", async () => {
    process.env.KDEVFLOW_FIXTURES = join(work, "cache-a");
    process.env.KDEVFLOW_LINUX_SOURCE = join(work, "a.tar.xz");
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    const again = await linuxUpstream();
    expect(again.tag).toBe("v6.1.7");
    expect(lines).toEqual([]);
  });

  it("gives the same commit id wherever it is built (fixed author, committer and dates)", async () => {
    process.env.KDEVFLOW_LINUX_SOURCE = join(work, "a.tar.xz");
    process.env.KDEVFLOW_FIXTURES = join(work, "cache-b");
    vi.spyOn(console, "log").mockImplementation(() => {});
    const b = await linuxUpstream();
    expect(await git(b.dir, "rev-parse", "v6.1.7^{commit}")).toBe(await git(join(work, "cache-a", "linux.git"), "rev-parse", "v6.1.7^{commit}"));
  });

  it("redoes a build that was killed half way, removing what it left", async () => {
    const root = join(work, "cache-c");
    process.env.KDEVFLOW_FIXTURES = root;
    process.env.KDEVFLOW_LINUX_SOURCE = join(work, "a.tar.xz");
    const leftover = join(root, ".linux-build-KILLED");
    await mkdir(join(leftover, "repo.git"), { recursive: true });
    await writeFile(join(leftover, "repo.git", "HEAD"), "half written\n");
    // The killed builder's lock is still there, naming a process that is gone.
    const child = spawn("true");
    await new Promise((r) => child.on("exit", r));
    await writeFile(join(root, "linux.lock"), JSON.stringify({ pid: child.pid, host: hostname(), since: "2020-01-01T00:00:00.000Z", what: "x" }));
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    const fixture = await linuxUpstream();
    expect(lines).toContain(
      `fixtures: lock: taking over the stale lock on the linux fixture repository: pid ${child.pid} is gone (its lock does not say how to find what it started)`,
    );
    expect(lines).toContain("fixtures: removing the leftovers of an interrupted build: .linux-build-KILLED");
    expect(existsSync(leftover)).toBe(false);
    expect(await git(fixture.dir, "cat-file", "-t", "v6.1.7")).toBe("tag");
  });

  it("rebuilds when the source tarball changes", async () => {
    process.env.KDEVFLOW_FIXTURES = join(work, "cache-a");
    process.env.KDEVFLOW_LINUX_SOURCE = await fakeLinuxTarball("a", 8);
    vi.spyOn(console, "log").mockImplementation(() => {});
    const next = await linuxUpstream();
    expect(next.tag).toBe("v6.1.8");
    expect(await git(next.dir, "tag", "--list")).toBe("v6.1.8");
  });

  it("cloneUpstream gives a private writable copy: a commit there leaves the fixture alone", async () => {
    process.env.KDEVFLOW_FIXTURES = join(work, "cache-a");
    process.env.KDEVFLOW_LINUX_SOURCE = join(work, "a.tar.xz");
    vi.spyOn(console, "log").mockImplementation(() => {});
    const fixture = await linuxUpstream();
    const copy = await cloneUpstream(fixture, join(work, "copy.git"));
    expect(copy.url).toBe(join(work, "copy.git"));
    const tree = await git(copy.dir, "rev-parse", "v6.1.8^{tree}");
    const commit = await capture(["git", "--git-dir", copy.dir, "commit-tree", tree, "-p", "v6.1.8^{commit}", "-m", "next"], {
      env: { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" },
    });
    await run(["git", "--git-dir", copy.dir, "update-ref", "refs/heads/master", commit], { quiet: true });
    expect(await git(copy.dir, "rev-parse", "master")).toBe(commit);
    expect(await git(fixture.dir, "rev-parse", "master")).not.toBe(commit);
  });
});

describe("the real fixtures other tests clone", () => {
  it("linuxUpstream: Debian's linux-source, tagged from its Makefile, with upstream's top-level files", async () => {
    const linux = await linuxUpstream();
    expect(linux.tag).toMatch(/^v6\.1(\.\d+)?$/);
    expect(linux.tag).toBe(`v${linux.version}`);
    const makefile = await git(linux.dir, "show", `${linux.tag}:Makefile`);
    expect(makefile).toMatch(new RegExp(`^SUBLEVEL = ${linux.version.split(".")[2] ?? "0"}$`, "m"));
    const top = (await git(linux.dir, "ls-tree", "--name-only", linux.tag)).split("\n");
    expect(top).toEqual(expect.arrayContaining([".gitignore", ".clang-format", "Kconfig", "Makefile", "arch", "kernel", "scripts"]));
    expect(await git(linux.dir, "show", `${linux.tag}:.gitignore`)).not.toMatch(/^\/\*$/m);
  }, 1_200_000);

  it("qemuUpstream: Debian's QEMU 7.2 source, tagged v<VERSION>", async () => {
    const qemu = await qemuUpstream();
    expect(qemu.tag).toMatch(/^v7\.2\.\d+$/);
    expect((await git(qemu.dir, "show", `${qemu.tag}:VERSION`)).trim()).toBe(qemu.version);
    const top = (await git(qemu.dir, "ls-tree", "--name-only", qemu.tag)).split("\n");
    expect(top).toEqual(expect.arrayContaining(["configure", "meson.build", "VERSION", "softmmu"]));
    expect(top).not.toContain(".pc");
  }, 1_200_000);
});
