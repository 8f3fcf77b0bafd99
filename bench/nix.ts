// Benchmark: f/nix/build with the test library flake (tests/fixtures/nixos-flake) on
// Debian's Nix 2.8, offline.
//
//   node_modules/.bin/bun bench/nix.ts [repetitions]
//
// Side by side, in one run, on one fresh Workbench:
//   - the first render + lock + build of a fully featured config (cold: nothing built),
//   - the same config again, unchanged (the target: under 2 s), step by step,
//   - a changed config (another host name: one new toplevel),
//   - update_lock on an unchanged library,
//   - the whole flow through the local engine (./kdevflow run f/nix/build), which adds a
//     Bun process per step.
// Prints a table; the figures go into docs/perf/nix.md.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { main as buildClosure } from "../f/nix/build/build_closure.ts";
import { main as lockConfig } from "../f/nix/build/lock_config.ts";
import { main as renderConfig } from "../f/nix/build/render_config.ts";
import { copyTestLibrary } from "../tests/harness/flakes.ts";
import { setupNixEnv } from "../tests/harness/nix.ts";

const REPO = resolve(import.meta.dirname, "..");
const reps = Math.max(1, Number(process.argv[2] ?? 5));

/** Run fn with the steps' log lines swallowed, return its wall time in seconds. */
async function quietly<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const log = console.log;
  const warn = console.warn;
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  console.log = () => {};
  console.warn = () => {};
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  const start = performance.now();
  try {
    return [await fn(), (performance.now() - start) / 1000];
  } finally {
    console.log = log;
    console.warn = warn;
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

interface Split {
  render: number;
  lock: number;
  build: number;
  total: number;
}

async function flow(vm: string, hostname = "", updateLock = false): Promise<Split> {
  const t: Partial<Split> = {};
  const start = performance.now();
  let s = performance.now();
  const r = await renderConfig({ vm, hostname });
  t.render = (performance.now() - s) / 1000;
  s = performance.now();
  const l = await lockConfig(r.config_dir, r.nixos_flake, updateLock);
  t.lock = (performance.now() - s) / 1000;
  s = performance.now();
  await buildClosure(l.config_dir);
  t.build = (performance.now() - s) / 1000;
  t.total = (performance.now() - start) / 1000;
  return t as Split;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const f = (x: number) => `${x.toFixed(3)} s`;

await setupNixEnv();
const tmp = mkdtempSync(join(tmpdir(), "kdevflow-bench-nix-"));
try {
  // A private copy of the test library (with the stand-in nixpkgs it locks, by absolute path).
  const library = await copyTestLibrary(join(tmp, "nixos-flake"));
  for (const k of ["SYSTEM_DIR", "WORKERS_DIR", "WORKER_INDEX"]) delete process.env[k];
  process.env.KDEVFLOW_WORKBENCH = join(tmp, "wb");
  process.env.KDEVFLOW_NIXOS_FLAKE = `path:${library}`;

  const [cold] = await quietly(() => flow("bench"));
  const warm: Split[] = [];
  for (let i = 0; i < reps; i++) warm.push((await quietly(() => flow("bench")))[0]);
  const changed: number[] = [];
  for (let i = 0; i < reps; i++) changed.push((await quietly(() => flow("bench", `host-${i}`)))[0].total);
  const update: number[] = [];
  for (let i = 0; i < reps; i++) update.push((await quietly(() => flow("bench", `host-${reps - 1}`, true)))[0].total);
  const engine: number[] = [];
  for (let i = 0; i < Math.min(reps, 3); i++) {
    const start = performance.now();
    const res = spawnSync(join(REPO, "kdevflow"), ["run", "f/nix/build", "--set", "vm=bench", "--set", `hostname=host-${reps - 1}`], {
      cwd: REPO,
      env: process.env,
      encoding: "utf8",
    });
    if (res.status !== 0) throw new Error(`kdevflow run failed:\n${res.stderr}`);
    engine.push((performance.now() - start) / 1000);
  }

  const nix = spawnSync("nix", ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`f/nix/build benchmark (${nix}, test library, ${reps} repetitions, median [max])`);
  console.log("");
  console.log("| run | render | lock | build | render+lock+build |");
  console.log("|---|---|---|---|---|");
  console.log(`| first run of a new config dir (no lock yet; busybox and initrd derivations already in the store) | ${f(cold.render)} | ${f(cold.lock)} | ${f(cold.build)} | ${f(cold.total)} |`);
  const col = (k: keyof Split) => `${f(median(warm.map((w) => w[k])))} [${f(Math.max(...warm.map((w) => w[k])))}]`;
  console.log(`| again, unchanged | ${col("render")} | ${col("lock")} | ${col("build")} | ${col("total")} |`);
  console.log(`| changed host name (new toplevel) | | | | ${f(median(changed))} [${f(Math.max(...changed))}] |`);
  console.log(`| again with update_lock | | | | ${f(median(update))} [${f(Math.max(...update))}] |`);
  console.log(`| whole flow via ./kdevflow (a Bun process per step), unchanged | | | | ${f(median(engine))} [${f(Math.max(...engine))}] |`);
  console.log("");
  const worst = Math.max(...warm.map((w) => w.total));
  console.log(`unchanged config, second time: ${worst < 2 ? "within" : "OVER"} the 2 s target (worst ${f(worst)})`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
