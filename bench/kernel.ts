// Benchmark: f/kernel/build against the same make commands run by hand, side by side in
// one run, and the time of a run that reuses a published build.
//
//   node_modules/.bin/bun bench/kernel.ts [--rounds N]
//
// Uses a temporary Workbench with the Debian linux-source fixture as upstream, the test
// dev shell, and the tests' persistent ccache (both sides get the same warm cache). Each
// round builds the test kernel (tinyconfig + tiny-guest) from an emptied build dir twice:
// once through the flow (reuse off, wipe_build on) and once by hand (the same make
// invocations inside `nix develop`, fragment merged with the kernel's merge_config.sh,
// compile_commands.json, install and modules_install). The order alternates between
// rounds so a warming machine favours neither side. Then two runs that reuse the
// published build: the first after the by-hand round (its .config must be remade), the
// second the usual case. Prints the figures as a table and as JSON.

import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { devshellArgv, devshellSpec } from "../f/common/devshell/nix_develop.ts";
import { ccacheDirFor, DEFAULT_CCACHE_MAX_SIZE } from "../f/common/devshell/ccache.ts";
import { ccacheEnv } from "../f/common/pipeline/toolchain.ts";
import { workbenchLayout } from "../f/common/layout.ts";
import { run } from "../f/common/run.ts";
import { PROJECT_FRAGMENTS } from "../f/kernel/configs/fragments.ts";
import { makeArgv, reproducibleVars, type MakeContext } from "../f/kernel/build/make.ts";
import { linuxUpstream } from "../tests/harness/fixtures.ts";
import { buildKernel, initLinuxWorkbench, kernelTestEnv, TEST_KERNEL_INPUTS } from "../tests/harness/kernel.ts";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 1;

async function emptyDir(dir: string): Promise<void> {
  for (const e of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, e), { recursive: true, force: true });
}

const upstream = await linuxUpstream();
const workbench = await mkdtemp(join(tmpdir(), "kdevflow-bench-kernel-"));
const env = await kernelTestEnv(workbench);
Object.assign(process.env, env);
const inputs = { git_ref: upstream.tag, ...TEST_KERNEL_INPUTS };
const results: { round: number; flow_s: number; hand_s: number; overhead_pct: number }[] = [];
let reuseS = 0;
let reuseReconfigS = 0;
let firstS = 0;
try {
  await initLinuxWorkbench(workbench, upstream, env);
  // Warm-up: creates the worktree and fills the ccache; its time is the cold-tree figure.
  const warm = await buildKernel({ ...inputs, reuse: false }, env);
  firstS = warm.ms / 1000;
  const m = warm.manifest;
  const src = m.worktree;
  const build = join(src, "build");
  const destdir = join(src, "destdir");
  const layout = workbenchLayout(env);
  // The by-hand build gets exactly the ccache environment the flow's steps get.
  const buildCcacheEnv = { ...ccacheEnv(layout, ccacheDirFor(layout), true, DEFAULT_CCACHE_MAX_SIZE), CCACHE_CONFIGPATH: join(ccacheDirFor(layout), "ccache.conf") };
  const shell = devshellSpec(env.KDEVFLOW_NIXOS_FLAKE, "build");
  const date = (await run(["git", "-C", src, "show", "-s", "--format=%cD", m.commit], { capture: true, quiet: true })).stdout.trim();
  const ctx: MakeContext = { src, build, arch: "x86_64", compiler: "gcc", ccache: true, jobs: availableParallelism(), makeArgv: [] };
  const full: MakeContext = { ...ctx, localversion: m.kernelrelease.slice(m.version.length), reproducibleVars: reproducibleVars(date) };
  const sh = (argv: string[]) => run(devshellArgv(shell, argv), { env: buildCcacheEnv, quiet: true });
  // The fragments the flow merges, as files (a project fragment is written out; a file is used as it is).
  const fragmentFiles: string[] = [];
  for (const f of inputs.fragments) {
    if (f.startsWith("/")) fragmentFiles.push(f);
    else {
      const file = join(workbench, `${f}.config`);
      await writeFile(file, PROJECT_FRAGMENTS[f]!);
      fragmentFiles.push(file);
    }
  }

  const byHand = async (): Promise<number> => {
    await emptyDir(build);
    const t = performance.now();
    await sh(makeArgv(ctx, ["tinyconfig"]));
    await sh([join(src, "scripts/kconfig/merge_config.sh"), "-m", "-O", build, join(build, ".config"), ...fragmentFiles]);
    await sh(makeArgv(ctx, ["olddefconfig"]));
    await sh(makeArgv(full, ["all"], { jobs: true }));
    await sh(["python3", join(src, "scripts/clang-tools/gen_compile_commands.py"), "-d", build, "-o", join(src, "compile_commands.json")]);
    await emptyDir(destdir);
    await mkdir(join(destdir, "boot"), { recursive: true });
    await cp(join(build, "arch/x86/boot/bzImage"), join(destdir, "boot", `vmlinuz-${m.kernelrelease}`));
    await sh(makeArgv(full, [`INSTALL_MOD_PATH=${destdir}`, "modules_install"]));
    return (performance.now() - t) / 1000;
  };
  const byFlow = async (): Promise<number> => {
    const r = await buildKernel({ ...inputs, reuse: false, wipe_build: true }, env);
    return r.ms / 1000;
  };

  for (let round = 1; round <= rounds; round++) {
    let flow: number;
    let hand: number;
    if (round % 2 === 1) {
      hand = await byHand();
      flow = await byFlow();
    } else {
      flow = await byFlow();
      hand = await byHand();
    }
    results.push({ round, flow_s: flow, hand_s: hand, overhead_pct: ((flow - hand) / hand) * 100 });
    console.error(`round ${round}: flow ${flow.toFixed(1)} s, by hand ${hand.toFixed(1)} s`);
  }
  // The last build dir state is the by-hand one (no configure stamp): the first reuse
  // run configures again; the second is the usual case, a reuse right after a flow run.
  const reconf = await buildKernel(inputs, env);
  const reuse = await buildKernel(inputs, env);
  if (!reconf.manifest.reused || !reuse.manifest.reused) throw new Error("the reuse run did not reuse");
  reuseReconfigS = reconf.ms / 1000;
  reuseS = reuse.ms / 1000;
} finally {
  await rm(workbench, { recursive: true, force: true });
}

const flowTotal = results.reduce((a, r) => a + r.flow_s, 0);
const handTotal = results.reduce((a, r) => a + r.hand_s, 0);
const summary = {
  machine: { cores: availableParallelism() },
  first_build_s: Number(firstS.toFixed(1)),
  rounds: results.map((r) => ({ ...r, flow_s: Number(r.flow_s.toFixed(1)), hand_s: Number(r.hand_s.toFixed(1)), overhead_pct: Number(r.overhead_pct.toFixed(1)) })),
  overhead_pct: Number((((flowTotal - handTotal) / handTotal) * 100).toFixed(1)),
  reuse_s: Number(reuseS.toFixed(2)),
  reuse_after_hand_configure_s: Number(reuseReconfigS.toFixed(2)),
  reuse_vs_build_pct: Number(((reuseS / (flowTotal / results.length)) * 100).toFixed(1)),
};
console.log("| measure | seconds |\n|---|---|");
console.log(`| first flow build (new worktree, warm ccache) | ${summary.first_build_s} |`);
for (const r of summary.rounds) console.log(`| round ${r.round}: flow / by hand / overhead | ${r.flow_s} / ${r.hand_s} / ${r.overhead_pct}% |`);
console.log(`| flow overhead over all rounds | ${summary.overhead_pct}% |`);
console.log(`| reuse run right after a flow build | ${summary.reuse_s} (${summary.reuse_vs_build_pct}% of a flow build) |`);
console.log(`| reuse run whose .config must be remade (build dir last touched by hand) | ${summary.reuse_after_hand_configure_s} |`);
console.log(JSON.stringify(summary));
