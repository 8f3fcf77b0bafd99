// Kselftests for tests: a Linux upstream with kdevflow's own kselftest collection added
// (tests/fixtures/selftests/kdevflow: a test that passes, one that fails when a marker
// file exists in the guest, one that hangs, one that skips), and a small bootable kernel
// built from it with a few quick targets.
//
// linuxSelftestsUpstream() is the Debian-source Linux fixture plus one commit that adds
// the collection and names it in tools/testing/selftests/Makefile's TARGETS; it is made
// with git plumbing (no checkout of the whole tree) and cached beside the other fixtures,
// rebuilt when the collection's files change. selftestsKernel() builds the test kernel
// with SELFTEST_TARGETS in a persistent Workbench and reuses it from the Store after.

import { createHash } from "node:crypto";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { KernelManifest } from "../../f/common/manifest.ts";
import { capture, run } from "../../f/common/run.ts";
import { cachedRepo, FIXTURE_GIT_ENV, fixturesRoot, linuxUpstream, type UpstreamFixture } from "./fixtures.ts";
import { kernelInWorkbench, TEST_KERNEL_INPUTS } from "./kernel.ts";

/** kdevflow's kselftest collection, as files to add under tools/testing/selftests/<name>. */
export const COLLECTION_DIR = resolve(import.meta.dirname, "..", "fixtures", "selftests", "kdevflow");
export const COLLECTION = "kdevflow";
/** The guest file that makes kdevflow:regress fail. */
export const REGRESS_MARKER = "/tmp/kdevflow-selftests-regress";

/**
 * The targets of the selftests test kernel: two small upstream ones and the fixture's.
 * Static (USERLDFLAGS=-static): the test library's guest has no C library, while a real
 * library's guest finds the build shell's in the shared /nix/store.
 */
export const SELFTEST_TARGETS = ["size", "sigaltstack", COLLECTION] as const;
export const SELFTESTS_KERNEL_INPUTS = { ...TEST_KERNEL_INPUTS, selftests: [...SELFTEST_TARGETS], make_args: "USERLDFLAGS=-static" } as const;

/** The Makefile with `TARGETS += <target>` added in alphabetical place among the TARGETS lines. Pure. */
export function addMakefileTarget(makefile: string, target: string): string {
  const lines = makefile.split("\n");
  const targetLines = lines.map((l, i) => ({ l, i, t: /^TARGETS \+= (\S+)$/.exec(l)?.[1] })).filter((x) => x.t !== undefined);
  if (targetLines.length === 0) throw new Error("the selftests Makefile has no TARGETS += lines");
  if (targetLines.some((x) => x.t === target)) return makefile;
  const after = targetLines.filter((x) => x.t! < target).at(-1) ?? null;
  const at = after ? after.i + 1 : targetLines[0]!.i;
  lines.splice(at, 0, `TARGETS += ${target}`);
  return lines.join("\n");
}

async function collectionFiles(): Promise<string[]> {
  return (await readdir(COLLECTION_DIR)).sort();
}

async function collectionDigest(): Promise<string> {
  const h = createHash("sha256");
  for (const f of await collectionFiles()) h.update(`${f}\0${await readFile(join(COLLECTION_DIR, f), "utf8")}\0`);
  return h.digest("hex").slice(0, 16);
}

/** The Linux fixture with kdevflow's kselftest collection committed on top, tagged `<tag>-kselftest`. */
export async function linuxSelftestsUpstream(): Promise<UpstreamFixture> {
  const linux = await linuxUpstream();
  const sourceId = async () => `${await capture(["git", "--git-dir", linux.dir, "rev-parse", `${linux.tag}^{commit}`])}:${await collectionDigest()}`;
  return cachedRepo("linux-kselftest", sourceId, async (tmp) => {
    const repo = join(tmp, "repo.git");
    await run(["git", "clone", "--quiet", "--bare", linux.url, repo], { env: FIXTURE_GIT_ENV });
    const env = { ...FIXTURE_GIT_ENV, GIT_INDEX_FILE: join(tmp, "index") };
    const git = (args: string[], input?: string) => capture(["git", "--git-dir", repo, ...args], { env, input });
    const base = await git(["rev-parse", `${linux.tag}^{commit}`]);
    await git(["read-tree", base]);
    const dir = `tools/testing/selftests/${COLLECTION}`;
    for (const f of await collectionFiles()) {
      const blob = await git(["hash-object", "-w", join(COLLECTION_DIR, f)]);
      await git(["update-index", "--add", "--cacheinfo", `100644,${blob},${dir}/${f}`]);
    }
    const makefilePath = "tools/testing/selftests/Makefile";
    const makefile = addMakefileTarget(await git(["cat-file", "blob", `${base}:${makefilePath}`]), COLLECTION);
    const blob = await git(["hash-object", "-w", "--stdin"], `${makefile}\n`);
    await git(["update-index", "--cacheinfo", `100644,${blob},${makefilePath}`]);
    const tree = await git(["write-tree"]);
    const message = "selftests: add kdevflow's test collection";
    const commit = await git(["commit-tree", tree, "-p", base, "-m", message]);
    const tag = `${linux.tag}-kselftest`;
    await git(["update-ref", "refs/heads/master", commit]);
    await git(["tag", "-a", tag, "-m", message, commit]);
    return { tag, version: linux.version, source: await sourceId() };
  });
}

/** A kselftest-like install of shell tests: `{"c/pass": "exit 0"}` becomes an executable `<dir>/c/pass`. */
export async function writeScriptInstall(dir: string, tests: Record<string, string>): Promise<void> {
  for (const [path, body] of Object.entries(tests)) {
    const file = join(dir, path);
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
  }
}

/**
 * Wait until root can log into the guest through its ssh_config entry: one attempt at a
 * time (a slow TCG guest's sshd drops connections past MaxStartups when they pile up).
 */
export async function waitForSsh(sshConfig: string, vm: string, timeoutMs = 300_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const res = await run(["ssh", "-F", sshConfig, "-o", "BatchMode=yes", "-o", "ConnectTimeout=60", vm, "--", "true"], { quiet: true, allowFailure: true, timeoutMs: 90_000 });
    if (res.exitCode === 0) return (Date.now() - started) / 1000;
    if (Date.now() - started > timeoutMs) throw new Error(`no SSH login into ${vm} after ${timeoutMs / 1000} s: ${res.stderr.trim().split("\n").slice(-2).join(" / ")}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

export const SELFTESTS_WORKBENCH = "selftests-workbench";

export function selftestsWorkbench(): string {
  return join(fixturesRoot(), SELFTESTS_WORKBENCH);
}

let cached: Promise<KernelManifest> | undefined;

/**
 * The test kernel with SELFTEST_TARGETS built and installed, from the persistent
 * selftests Workbench: built once (minutes on two cores), reused from the Store after.
 */
export function selftestsKernel(): Promise<KernelManifest> {
  cached ??= (async () => kernelInWorkbench(SELFTESTS_WORKBENCH, await linuxSelftestsUpstream(), SELFTESTS_KERNEL_INPUTS))();
  cached.catch(() => (cached = undefined));
  return cached;
}

// `bun tests/harness/selftests.ts` builds (or finds) the selftests test kernel and prints its manifest.
if ((import.meta as { main?: boolean }).main) {
  console.log(JSON.stringify(await selftestsKernel(), null, 2));
}
