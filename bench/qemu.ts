// What f/qemu/build adds over building QEMU by hand, and how long a reuse takes.
//
//   node_modules/.bin/bun bench/qemu.ts [--ccache on|off]
//
// Uses the Debian QEMU source (tests/harness/fixtures.ts) as the upstream, a fresh
// temporary Workbench provisioned by f/workbench/init, and the test library's dev shell.
// Side by side in one run it times:
//   by hand   in a plain clone laid out like a worker slot (<root>/workers/0/qemu):
//             nix develop .#build --command <the same configure argv the flow runs>,
//             then make -j$(nproc) and make install, each in the dev shell
//   flow      kdevflow run f/qemu/build with reuse off, from an empty build/
//   reuse     kdevflow run f/qemu/build again with reuse on (the identity is published)
// With --ccache on (the default) both builds use the same ccache folder, and an untimed
// by-hand warm-up build in a third tree fills it first, so neither timed build is colder
// than the other; with --ccache off both compile everything.
// It prints the seconds of each and the flow's overhead over the by-hand build.

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ccacheDirFor, DEFAULT_CCACHE_MAX_SIZE, writeCcacheConf } from "../f/common/devshell/ccache.ts";
import { devshellSpec, runInDevshell } from "../f/common/devshell/nix_develop.ts";
import { workbenchLayout } from "../f/common/layout.ts";
import { QemuManifest } from "../f/common/manifest.ts";
import { run } from "../f/common/run.ts";
import { configureArgv, installName } from "../f/qemu/build/plan.ts";
import { qemuUpstream } from "../tests/harness/fixtures.ts";
import { testCcacheDir } from "../tests/harness/kernel.ts";
import { testFlakes } from "../tests/harness/flakes.ts";
import { setupNixEnv } from "../tests/harness/nix.ts";

const REPO = resolve(import.meta.dirname, "..");
const KDEVFLOW = join(REPO, "kdevflow");
// This process's copy of the test library (tests/harness/flakes.ts).
const FLAKE = (await testFlakes()).library;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const CCACHE = option("--ccache", "on") === "on";

async function seconds(what: string, fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  const s = (performance.now() - started) / 1000;
  console.error(`bench: ${what}: ${s.toFixed(1)} s`);
  return s;
}

const nixEnv = await setupNixEnv();
const fixture = await qemuUpstream();
const root = await mkdtemp(join(tmpdir(), "kdevflow-bench-qemu-"));
const ccacheDir = testCcacheDir();
const flowEnv: Record<string, string> = {
  ...nixEnv,
  KDEVFLOW_WORKBENCH: join(root, "flow"),
  SYSTEM_DIR: join(root, "flow", "system"),
  WORKERS_DIR: join(root, "flow", "workers"),
  WORKER_INDEX: "0",
  KDEVFLOW_CCACHE_DIR: ccacheDir,
  KDEVFLOW_NIXOS_FLAKE: FLAKE,
};
const quiet = { quiet: true, env: flowEnv };

/** Each step's time from the engine's `<== step <id>: ok in <t>` lines. */
function stepTimes(log: string): string {
  const out: string[] = [];
  for (const m of log.matchAll(/^<== step (\w+): ok in ([\d.]+) (ms|s)/gm)) {
    const s = Number(m[2]) / (m[3] === "ms" ? 1000 : 1);
    if (m[1] !== "method") out.push(`${m[1]} ${s.toFixed(1)} s`);
  }
  return out.join(", ");
}

async function flow(sets: Record<string, unknown>): Promise<{ manifest: QemuManifest; steps: string }> {
  const args = ["run", "f/qemu/build"];
  for (const [k, v] of Object.entries(sets)) args.push("--set", `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  const res = await run([KDEVFLOW, ...args], { ...quiet, capture: true });
  return { manifest: QemuManifest.parse(JSON.parse(res.stdout)), steps: stepTimes(res.stderr) };
}

try {
  await run([KDEVFLOW, "run", "f/workbench/init", "--set", `sources=${JSON.stringify([{ name: "qemu", url: fixture.url, refresh_minutes: 360 }])}`], quiet);
  const base = { qemu_ref: fixture.tag, ccache: CCACHE };

  // By hand: the same commands in a plain clone laid out like a slot (<root>/<name>/workers/0/qemu).
  const spec = devshellSpec(FLAKE, "build");
  const byHand = async (name: string) => {
    const handSlot = join(root, name, "workers", "0");
    const src = join(handSlot, "qemu");
    await mkdir(handSlot, { recursive: true });
    await run(["git", "clone", "--quiet", "--branch", fixture.tag, fixture.url, src], { quiet: true });
    const build = join(src, "build");
    await mkdir(build);
    const layout = workbenchLayout({ KDEVFLOW_WORKBENCH: join(root, name) });
    const ccacheEnv = CCACHE
      ? (await writeCcacheConf({ cacheDir: ccacheDirFor(layout, { KDEVFLOW_CCACHE_DIR: ccacheDir }), maxSize: DEFAULT_CCACHE_MAX_SIZE, baseDir: handSlot })).env
      : { CCACHE_DISABLE: "1" };
    const argv = configureArgv({
      src,
      prefix: join(src, "destdir", installName(fixture.version, "vanilla", "000000000000")),
      targets: ["x86_64-softmmu"],
      compiler: "gcc",
      ccache: CCACHE,
      extraArgs: [],
      disableDownload: false,
    });
    return seconds(`by hand in ${name}/: configure + make + make install`, async () => {
      const opts = { cwd: build, env: ccacheEnv, quiet: true };
      await runInDevshell(spec, argv, opts);
      await runInDevshell(spec, ["make", `-j${availableParallelism()}`], opts);
      await runInDevshell(spec, ["make", "install"], opts);
    });
  };

  // A warm-up in a third tree fills ccache; both timed builds then differ from it in the
  // same way (another tree, another prefix), so neither is warmer than the other.
  if (CCACHE) await byHand("warm-up");
  const handSeconds = await byHand("hand");
  let built: { manifest: QemuManifest; steps: string } | undefined;
  const viaFlow = await seconds("flow (reuse off)", async () => {
    built = await flow({ ...base, reuse: false });
  });
  let reused: { manifest: QemuManifest; steps: string } | undefined;
  const reuse = await seconds("flow (reuse on, identity published)", async () => {
    reused = await flow({ ...base, reuse: true });
  });
  if (!reused?.manifest.reused || reused.manifest.identity !== built?.manifest.identity) throw new Error("the second flow run did not reuse the first");

  const overhead = ((viaFlow - handSeconds) / handSeconds) * 100;
  console.log(`QEMU ${fixture.version} x86_64-softmmu, ccache ${CCACHE ? "on (warm)" : "off"}, ${availableParallelism()} cores`);
  console.log(`by hand (configure + make + make install): ${handSeconds.toFixed(1)} s`);
  console.log(`flow f/qemu/build (reuse off):             ${viaFlow.toFixed(1)} s  (${overhead >= 0 ? "+" : ""}${overhead.toFixed(1)} %)`);
  console.log(`flow f/qemu/build (reuse):                 ${reuse.toFixed(1)} s`);
  console.log(`  steps of the build: ${built?.steps}`);
  console.log(`  steps of the reuse: ${reused.steps}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
