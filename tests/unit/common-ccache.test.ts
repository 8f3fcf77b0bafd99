// The shared ccache configuration: the size check agrees with ccache itself, the
// rendered file, and a written file that a real ccache reads back.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ccacheDirFor, checkCcacheSize, renderCcacheConf, writeCcacheConf } from "../../f/common/devshell/ccache.ts";
import { workbenchLayout } from "../../f/common/layout.ts";
import { ccacheEnv } from "../../f/common/pipeline/toolchain.ts";
import { run } from "../../f/common/run.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kdevflow-ccache-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What ccache itself says about a config file: its max_size line, or its error. */
async function ccacheReads(conf: string): Promise<{ ok: boolean; text: string }> {
  const res = await run(["ccache", "-p"], { env: { CCACHE_CONFIGPATH: conf, CCACHE_DIR: dir }, capture: true, quiet: true, allowFailure: true });
  return { ok: res.exitCode === 0, text: `${res.stdout}${res.stderr}` };
}

const GOOD = ["10G", "500M", "10GiB", "1.5T", "10", "10GB", "10k", "64K", "5Ti", " 20 G ", "2.5Gi"];
const BAD = ["10g", "500m", "2mi", "ten", "", "G", "-1G", "10 GB extra", "10P", "1e3G", "10,5G"];

describe("checkCcacheSize", () => {
  it.each(GOOD)("accepts %j, and ccache accepts what it returns", async (size) => {
    const checked = checkCcacheSize(size);
    expect(checked).not.toMatch(/\s/);
    const conf = join(dir, "size.conf");
    await run(["sh", "-c", 'printf "max_size = %s\\n" "$1" > "$2"', "sh", checked, conf], { quiet: true });
    const seen = await ccacheReads(conf);
    expect(seen.ok, seen.text).toBe(true);
  });

  it.each(BAD)("refuses %j with an InputError naming ccache_max_size", (size) => {
    expect(() => checkCcacheSize(size)).toThrow(/^ccache_max_size: expected a size such as 10G, 500M or 10GiB/);
  });

  it("the sizes it refuses that look plausible are ones ccache refuses too", async () => {
    for (const size of ["10g", "500m", "2mi"]) {
      const conf = join(dir, "bad.conf");
      await run(["sh", "-c", 'printf "max_size = %s\\n" "$1" > "$2"', "sh", size, conf], { quiet: true });
      const seen = await ccacheReads(conf);
      expect(seen.ok, `${size}: ${seen.text}`).toBe(false);
      expect(seen.text).toContain("invalid size");
    }
  });
});

describe("renderCcacheConf", () => {
  it("renders the cache folder, size, base_dir and content-based compiler check", () => {
    expect(renderCcacheConf({ cacheDir: "/wb/system/ccache", maxSize: "20G", baseDir: "/wb/workers" })).toBe(
      [
        "# written by kdevflow: shared by the kernel and QEMU builds",
        "cache_dir = /wb/system/ccache",
        "max_size = 20G",
        "base_dir = /wb/workers",
        "compiler_check = content",
        "sloppiness = locale",
        "",
      ].join("\n"),
    );
  });
  it("refuses a bad size before rendering anything", () => {
    expect(() => renderCcacheConf({ cacheDir: "/c", maxSize: "lots", baseDir: "/b" })).toThrow(/ccache_max_size/);
  });
});

describe("writeCcacheConf", () => {
  it("writes ccache.conf in the cache folder atomically and a real ccache uses it through the returned env", async () => {
    const cacheDir = join(dir, "cache");
    const { path, env } = await writeCcacheConf({ cacheDir, maxSize: "3G", baseDir: "/wb/workers" });
    expect(path).toBe(join(cacheDir, "ccache.conf"));
    expect(env).toEqual({ CCACHE_CONFIGPATH: path, CCACHE_DIR: cacheDir });
    expect(await readFile(path, "utf8")).toContain("max_size = 3G");
    expect((await readdir(cacheDir)).filter((f) => f.includes(".tmp-"))).toEqual([]);
    const res = await run(["ccache", "-p"], { env, capture: true, quiet: true });
    expect(res.stdout).toMatch(/\) max_size = 3\.0G/);
    expect(res.stdout).toMatch(/\) base_dir = \/wb\/workers/);
    expect(res.stdout).toMatch(/\) compiler_check = content/);
    expect(res.stdout).toMatch(/\) sloppiness = locale/);
    expect(res.stdout).toContain(`cache_dir = ${cacheDir}`);
  });

  it("refuses a bad size without writing", async () => {
    const cacheDir = join(dir, "never");
    await expect(writeCcacheConf({ cacheDir, maxSize: "10g", baseDir: "/b" })).rejects.toThrow(/ccache_max_size/);
    expect(existsSync(join(cacheDir, "ccache.conf"))).toBe(false);
  });
});

describe("ccacheDirFor", () => {
  const layout = workbenchLayout({ KDEVFLOW_WORKBENCH: "/wb" });
  it("is SYSTEM_DIR/ccache by default", () => {
    expect(ccacheDirFor(layout, {})).toBe("/wb/system/ccache");
  });
  it("follows KDEVFLOW_CCACHE_DIR when it is absolute", () => {
    expect(ccacheDirFor(layout, { KDEVFLOW_CCACHE_DIR: "/cache/ccache" })).toBe("/cache/ccache");
  });
  it("refuses a relative KDEVFLOW_CCACHE_DIR", () => {
    expect(() => ccacheDirFor(layout, { KDEVFLOW_CCACHE_DIR: "cache" })).toThrow(/^KDEVFLOW_CCACHE_DIR: expected an absolute path/);
  });
});

// A flow step runs with a job's cleared environment (no LANG); a developer's shell has
// LANG. ccache hashes the locale unless told not to, so the two would never share an
// entry. Real gcc through real ccache, with the environment a build gets.
describe("the build's ccache environment ignores the locale", () => {
  const source = "int kdevflow_answer(void) { return 42; }\n";

  /** Compile once with LANG=C.UTF-8, once with no locale at all; return the second run's hits and misses. */
  async function secondCompile(cacheEnv: Record<string, string>): Promise<{ hits: number; misses: number }> {
    const work = await mkdtemp(join(dir, "locale-"));
    const src = join(work, "answer.c");
    await writeFile(src, source);
    const base = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, ...cacheEnv };
    const cc = (env: Record<string, string>) => run(["ccache", "gcc", "-g", "-c", src, "-o", join(work, "answer.o")], { cwd: work, env, replaceEnv: true, quiet: true });
    await cc({ ...base, LANG: "C.UTF-8" });
    await run(["ccache", "--zero-stats"], { env: base, replaceEnv: true, quiet: true });
    await cc(base);
    const stats = (await run(["ccache", "--print-stats"], { env: base, replaceEnv: true, capture: true, quiet: true })).stdout;
    const count = (name: string) => Number(new RegExp(`^${name}\\t(\\d+)$`, "m").exec(stats)?.[1] ?? Number.NaN);
    return { hits: count("direct_cache_hit") + count("preprocessed_cache_hit"), misses: count("cache_miss") };
  }

  it("a build without LANG hits the entry a build with LANG made", async () => {
    const cacheDir = join(dir, "locale-cache");
    await mkdir(cacheDir, { recursive: true });
    const env = ccacheEnv(workbenchLayout({ KDEVFLOW_WORKBENCH: dir }), cacheDir, true, "1G");
    expect(env.CCACHE_SLOPPINESS).toBe("locale");
    expect(await secondCompile(env)).toEqual({ hits: 1, misses: 0 });
  });

  it("without the sloppiness the same two compiles miss (so the test above can fail)", async () => {
    const cacheDir = join(dir, "locale-cache-strict");
    await mkdir(cacheDir, { recursive: true });
    const { CCACHE_SLOPPINESS: _dropped, ...strict } = ccacheEnv(workbenchLayout({ KDEVFLOW_WORKBENCH: dir }), cacheDir, true, "1G");
    expect(await secondCompile(strict)).toEqual({ hits: 0, misses: 1 });
  });
});
