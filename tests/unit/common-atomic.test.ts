// Atomic writes on real files: content and mode land, no temporary file is left, a
// failed write leaves the old file alone, a reader never sees half a file, and links
// are replaced in one step.

import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { symlinkAtomic, writeFileAtomic, writeJsonAtomic } from "../../f/common/atomic.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kdevflow-atomic-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const leftovers = async (d: string) => (await readdir(d)).filter((f) => f.includes(".tmp-"));

describe("writeFileAtomic", () => {
  it("creates the folders, writes the content and leaves no temporary file", async () => {
    const path = join(dir, "a", "b", "manifest.txt");
    await writeFileAtomic(path, "first\n");
    expect(await readFile(path, "utf8")).toBe("first\n");
    await writeFileAtomic(path, new TextEncoder().encode("second\n"));
    expect(await readFile(path, "utf8")).toBe("second\n");
    expect(await leftovers(join(dir, "a", "b"))).toEqual([]);
  });

  it("sets the mode when asked", async () => {
    const path = join(dir, "run.sh");
    await writeFileAtomic(path, "#!/bin/sh\n", 0o755);
    expect((await stat(path)).mode & 0o777).toBe(0o755);
  });

  it("a write that cannot land rejects, keeps what was there and cleans up", async () => {
    const target = join(dir, "occupied");
    await mkdir(join(target, "child"), { recursive: true });
    await expect(writeFileAtomic(target, "x")).rejects.toThrow();
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(await leftovers(dir)).toEqual([]);
  });

  it("a concurrent reader sees the old content or the new, never a mix", async () => {
    const path = join(dir, "big.txt");
    const a = "A".repeat(1 << 20);
    const b = "B".repeat(1 << 20);
    await writeFileAtomic(path, a);
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const text = await readFile(path, "utf8");
        seen.add(text === a ? "A" : text === b ? "B" : `torn (${text.length} bytes)`);
      }
    })();
    for (let i = 0; i < 30; i++) await writeFileAtomic(path, i % 2 ? a : b);
    writing = false;
    await reader;
    expect([...seen].filter((s) => s.startsWith("torn"))).toEqual([]);
    expect(seen.size).toBeGreaterThan(0);
  });
});

describe("writeJsonAtomic", () => {
  it("writes indented JSON with a final newline", async () => {
    const path = join(dir, "result.json");
    await writeJsonAtomic(path, { kind: "kernel", n: [1, 2] });
    expect(await readFile(path, "utf8")).toBe('{\n  "kind": "kernel",\n  "n": [\n    1,\n    2\n  ]\n}\n');
  });
});

describe("symlinkAtomic", () => {
  it("creates a link, then repoints it in one step", async () => {
    const link = join(dir, "links", "current");
    await symlinkAtomic("/nix/store/aaa-build", link);
    expect(await readlink(link)).toBe("/nix/store/aaa-build");
    await symlinkAtomic("/nix/store/bbb-build", link);
    expect(await readlink(link)).toBe("/nix/store/bbb-build");
    expect(await leftovers(join(dir, "links"))).toEqual([]);
  });

  it("replaces a plain file or a link to a folder (the link itself, not the folder's content)", async () => {
    const file = join(dir, "was-a-file");
    await writeFile(file, "x");
    await symlinkAtomic("target-1", file);
    expect(await readlink(file)).toBe("target-1");

    const realDir = join(dir, "real-dir");
    await mkdir(realDir);
    const link = join(dir, "dir-link");
    await symlink(realDir, link);
    await symlinkAtomic("target-2", link);
    expect(await readlink(link)).toBe("target-2");
    expect((await stat(realDir)).isDirectory()).toBe(true);
  });

  it("refuses to replace a real folder and cleans up", async () => {
    const folder = join(dir, "a-folder");
    await mkdir(join(folder, "inside"), { recursive: true });
    await expect(symlinkAtomic("elsewhere", folder)).rejects.toThrow();
    expect((await stat(folder)).isDirectory()).toBe(true);
    expect(await leftovers(dir)).toEqual([]);
  });
});
