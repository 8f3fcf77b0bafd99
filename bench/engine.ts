// How much time the local engine adds per step over calling the step's `main` directly.
//
//   node_modules/.bin/bun bench/engine.ts [--steps N] [--reps R]
//
// Builds a throw-away workspace with a flow of N trivial steps (each adds one to the
// previous step's result) and, side by side in the same run, times:
//   engine      `kdevflow run` of that flow (CLI start, input checks, N step processes)
//   direct      N Bun processes, each importing the step and calling main (the fair baseline:
//               a step always runs in its own process, on a worker too)
//   in-process  N calls of main in this process (for reference only)
// and prints the median of R repetitions and the engine's overhead per step.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const REPO = resolve(import.meta.dirname, "..");
const BUN = process.versions.bun ? process.execPath : join(REPO, "node_modules/.bin/bun");

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer`);
  return v;
}

const STEPS = flag("--steps", 20);
const REPS = flag("--reps", 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function flowYaml(n: number): string {
  const lines = ["summary: benchmark chain", "value:", "  same_worker: true", "  modules:"];
  for (let i = 0; i < n; i++) {
    const expr = i === 0 ? "flow_input.x" : `results.s${i - 1}`;
    lines.push(
      `    - id: s${i}`,
      "      value:",
      "        type: script",
      "        path: f/bench/steps/inc",
      "        input_transforms:",
      `          x: { type: javascript, expr: "${expr}" }`,
    );
  }
  lines.push("schema:", "  type: object", "  properties:", "    x: { type: integer, default: 0 }", "  required: []", "");
  return lines.join("\n");
}

const ws = mkdtempSync(join(tmpdir(), "kdevflow-bench-"));
try {
  mkdirSync(join(ws, "f/bench/steps"), { recursive: true });
  const step = join(ws, "f/bench/steps/inc.ts");
  writeFileSync(step, "export async function main(x: number) {\n  return x + 1;\n}\n");
  for (const n of [1, STEPS]) {
    mkdirSync(join(ws, `f/bench/chain${n}__flow`));
    writeFileSync(join(ws, `f/bench/chain${n}__flow/flow.yaml`), flowYaml(n));
  }
  const direct = join(ws, "direct.ts");
  writeFileSync(
    direct,
    [
      "const mod = await import(process.argv[2]);",
      "const result = await mod.main(...JSON.parse(process.argv[3]));",
      "console.log(JSON.stringify(result));",
      "",
    ].join("\n"),
  );
  const stepUrl = pathToFileURL(step).href;

  const runEngine = (n: number): number => {
    const t = performance.now();
    const r = spawnSync(BUN, [join(REPO, "cli/kdevflow.ts"), "run", `f/bench/chain${n}`, "--workspace", ws], { encoding: "utf8" });
    const ms = performance.now() - t;
    if (r.status !== 0 || JSON.parse(r.stdout) !== n) throw new Error(`engine run failed:\n${r.stderr}`);
    return ms;
  };
  const runDirect = (n: number): number => {
    const t = performance.now();
    let x = 0;
    for (let i = 0; i < n; i++) {
      const r = spawnSync(BUN, [direct, stepUrl, JSON.stringify([x])], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`direct call failed:\n${r.stderr}`);
      x = JSON.parse(r.stdout) as number;
    }
    if (x !== n) throw new Error("direct chain gave the wrong result");
    return performance.now() - t;
  };
  const mod = (await import(stepUrl)) as { main: (x: number) => Promise<number> };
  const runInProcess = async (n: number): Promise<number> => {
    const t = performance.now();
    let x = 0;
    for (let i = 0; i < n; i++) x = await mod.main(x);
    return performance.now() - t;
  };

  runEngine(1); // warm the file cache and Bun's transpiler cache
  runDirect(1);
  const engineN: number[] = [];
  const engine1: number[] = [];
  const directN: number[] = [];
  const direct1: number[] = [];
  const inproc: number[] = [];
  for (let r = 0; r < REPS; r++) {
    engineN.push(runEngine(STEPS));
    directN.push(runDirect(STEPS));
    engine1.push(runEngine(1));
    direct1.push(runDirect(1));
    inproc.push(await runInProcess(STEPS));
  }
  const eN = median(engineN);
  const dN = median(directN);
  const e1 = median(engine1);
  const d1 = median(direct1);
  const perStep = (eN - dN) / STEPS;
  const marginal = (eN - e1) / (STEPS - 1 || 1) - (dN - d1) / (STEPS - 1 || 1);
  const f = (x: number) => x.toFixed(1).padStart(8);
  console.log(`engine benchmark: ${STEPS} trivial steps, median of ${REPS} runs, bun ${process.versions.bun ?? "?"}`);
  console.log(`  engine, ${STEPS}-step flow (kdevflow run)       ${f(eN)} ms`);
  console.log(`  direct, ${STEPS} Bun processes calling main     ${f(dN)} ms   (${(dN / STEPS).toFixed(1)} ms per call)`);
  console.log(`  in-process, ${STEPS} calls of main              ${median(inproc).toFixed(3).padStart(8)} ms`);
  console.log(`  engine, 1-step flow                         ${f(e1)} ms`);
  console.log(`  direct, 1 Bun process                       ${f(d1)} ms`);
  console.log(`  overhead per step, all included: (engine - direct) / ${STEPS} = ${perStep.toFixed(1)} ms (limit 150 ms)`);
  console.log(`  overhead per extra step, CLI start excluded              = ${marginal.toFixed(1)} ms`);
  console.log(`  fixed cost of one run (CLI start, parse, checks)         = ${(e1 - d1).toFixed(1)} ms`);
  console.log(perStep <= 150 ? "PASS: within 150 ms per step" : "FAIL: above 150 ms per step");
  process.exitCode = perStep <= 150 ? 0 : 1;
} finally {
  rmSync(ws, { recursive: true, force: true });
}
