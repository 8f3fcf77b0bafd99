// Benchmark: the Workbench on the Linux source repository (tests/harness/fixtures.ts).
//
//   node_modules/.bin/bun bench/workbench.ts
//
// Side by side, in one run, on the same mirror:
//   - provisioning a Bare next to its mirror (ensureBare) against `git clone --bare` of
//     the mirror (local, which hard-links objects, and --no-local, which copies them):
//     wall time and each repository's own disk use (a Bare's alternates excluded);
//   - a warm worktree switch between two tags that differ in one file, against the cold
//     worktree add that precedes it and a no-op re-sync.
// Prints a table; the figures go into docs/perf/workbench.md.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { workbenchLayout } from "../f/common/layout.ts";
import { capture, run } from "../f/common/run.ts";
import { ensureBare } from "../f/workbench/bare.ts";
import { ensureMirror } from "../f/workbench/mirror.ts";
import { prepareWorktree } from "../f/workbench/worktree.ts";
import { cloneUpstream, FIXTURE_GIT_ENV, linuxUpstream } from "../tests/harness/fixtures.ts";

/** Disk use in KiB of a directory (du counts each inode once; alternates are a path, not objects). */
function duKiB(dir: string): number {
  return Number(execFileSync("du", ["-sk", dir], { encoding: "utf8" }).split("\t")[0]);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, (performance.now() - start) / 1000];
}

/** A second tag, one file changed, made with plumbing in a private copy of the fixture. */
async function secondTag(repo: string, base: string): Promise<string> {
  const env = { ...FIXTURE_GIT_ENV, GIT_INDEX_FILE: join(repo, "bench-index") };
  const git = ["git", "--git-dir", repo];
  await run([...git, "read-tree", `${base}^{tree}`], { env });
  const readme = await capture([...git, "show", `${base}:README`]);
  const blob = await capture([...git, "hash-object", "-w", "--stdin"], { input: `${readme}\nA line added for the worktree benchmark.\n` });
  await run([...git, "update-index", "--cacheinfo", `100644,${blob},README`], { env });
  const tree = await capture([...git, "write-tree"], { env });
  const commit = await capture([...git, "commit-tree", tree, "-p", `${base}^{commit}`, "-m", "bench: change README"], { env });
  const tag = `${base}-bench`;
  await run([...git, "tag", tag, commit], { env });
  rmSync(env.GIT_INDEX_FILE, { force: true });
  return tag;
}

const fixture = await linuxUpstream();
const tmp = mkdtempSync(join(tmpdir(), "kdevflow-bench-workbench-"));
try {
  const upstream = await cloneUpstream(fixture, join(tmp, "upstream.git"));
  const tag2 = await secondTag(upstream.dir, fixture.tag);
  process.env.KDEVFLOW_WORKBENCH = join(tmp, "wb");
  for (const k of ["SYSTEM_DIR", "WORKERS_DIR", "WORKER_INDEX"]) delete process.env[k];
  const layout = workbenchLayout();

  const [mirror, mirrorSecs] = await timed(() => ensureMirror(layout, { name: "linux", url: upstream.url }));
  const [bare, bareSecs] = await timed(() => ensureBare(layout, "linux"));
  const bareKiB = duKiB(bare.bare);
  const [, bareAgainSecs] = await timed(() => ensureBare(layout, "linux"));

  const cloneLocal = join(tmp, "clone-local.git");
  const [, cloneLocalSecs] = await timed(() => run(["git", "clone", "--bare", "--quiet", mirror.mirror, cloneLocal]));
  const cloneLocalKiB = duKiB(cloneLocal);
  rmSync(cloneLocal, { recursive: true, force: true });
  const cloneCopy = join(tmp, "clone-copy.git");
  const [, cloneCopySecs] = await timed(() => run(["git", "clone", "--bare", "--no-local", "--quiet", mirror.mirror, cloneCopy]));
  const cloneCopyKiB = duKiB(cloneCopy);
  rmSync(cloneCopy, { recursive: true, force: true });

  const [first, addSecs] = await timed(() => prepareWorktree({ project: "linux", ref: fixture.tag, layout }));
  const files = Number(await capture(["git", "-C", first.worktree, "ls-files", "--cached", "-z"]).then((s) => s.split("\0").filter(Boolean).length));
  const [, switchSecs] = await timed(() => prepareWorktree({ project: "linux", ref: tag2, layout }));
  const [, backSecs] = await timed(() => prepareWorktree({ project: "linux", ref: fixture.tag, layout }));
  const [, noopSecs] = await timed(() => prepareWorktree({ project: "linux", ref: fixture.tag, layout }));
  const bareWithWorktreeKiB = duKiB(bare.bare);
  const changed = await capture(["git", "-C", first.worktree, "diff", "--name-only", fixture.tag, tag2]);

  const rows: [string, string, string][] = [
    ["mirror: git clone --mirror of the fixture (local)", `${mirrorSecs.toFixed(2)} s`, `${duKiB(mirror.mirror)} KiB`],
    ["Bare: provision next to the mirror (ensureBare)", `${bareSecs.toFixed(2)} s`, `${bareKiB} KiB`],
    ["Bare: ensureBare again (nothing new)", `${bareAgainSecs.toFixed(2)} s`, ""],
    ["git clone --bare of the mirror (local, hard links)", `${cloneLocalSecs.toFixed(2)} s`, `${cloneLocalKiB} KiB`],
    ["git clone --bare --no-local of the mirror (copy)", `${cloneCopySecs.toFixed(2)} s`, `${cloneCopyKiB} KiB`],
    [`worktree: cold add at ${fixture.tag} (${files} files)`, `${addSecs.toFixed(2)} s`, ""],
    [`worktree: warm switch ${fixture.tag} -> ${tag2} (${changed.split("\n").filter(Boolean).length} file differs)`, `${switchSecs.toFixed(2)} s`, ""],
    [`worktree: warm switch ${tag2} -> ${fixture.tag}`, `${backSecs.toFixed(2)} s`, ""],
    [`worktree: re-sync to the same tag (no-op)`, `${noopSecs.toFixed(2)} s`, ""],
    ["Bare with one worktree's admin dir (index) inside", "", `${bareWithWorktreeKiB} KiB`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\nWorkbench benchmark on Linux ${fixture.version} (${mirror.refs} refs in the mirror)\n`);
  for (const [what, time, size] of rows) console.log(`${what.padEnd(w)}  ${time.padStart(9)}  ${size.padStart(12)}`);
  console.log(`\nBare own disk use: ${bareKiB} KiB (${bareKiB < 1024 ? "under" : "NOT under"} 1 MiB)`);
  console.log(`Bare provisioning / git clone --bare (local): ${(bareSecs / cloneLocalSecs).toFixed(3)}; / --no-local: ${(bareSecs / cloneCopySecs).toFixed(3)}`);
  console.log(`Warm switch / cold add: ${(switchSecs / addSecs).toFixed(3)}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
