// Boot speed through the units against the same QEMU command by hand, side by side.
//
//   node_modules/.bin/bun bench/boot.ts [--reps N] [--bringup]
//
// Starts a real systemd user manager (tests/harness/systemd.ts), takes the test kernel
// (tests/harness/kernel.ts, or KDEVFLOW_QSU_TEST_KERNEL=<result.json>) and the test
// library's closure (f/nix/build), plans one guest, and then, alternating, R times:
//   units   f/qsu/boot's apply + wait_ready: write units, daemon-reload, start
//           qemu-system@ (which starts two virtiofsd@ units first), until the console
//           shows the marker
//   by hand the same virtiofsd and QEMU vectors started directly (virtiofsd first, wait
//           for their sockets, then QEMU), until the console shows the same marker
// Both wait the same way (the console log polled every 100 ms) and boot the same guest,
// which powers itself off. Prints the medians and the ratio units / by hand.
//
// --bringup also times `kdevflow run f/qsu/bringup` twice on a persistent bench
// Workbench ($KDEVFLOW_FIXTURES/qsu-bench-workbench): the second run reuses every build.

import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ClosureResult, KernelManifest, loadManifest } from "../f/common/manifest.ts";
import { DEFAULT_READY_MARKER } from "../f/qsu/boot/inputs.ts";
import { applyBoot, prepareBoot } from "../f/qsu/lib/guest.ts";
import { findMarker, readConsole } from "../f/qsu/lib/ready.ts";
import { unitStates } from "../f/qsu/lib/systemctl.ts";
import { fixturesRoot, linuxUpstream } from "../tests/harness/fixtures.ts";
import { runFlowCli, testKernel, TEST_KERNEL_INPUTS, testCcacheDir } from "../tests/harness/kernel.ts";
import { testFlakes } from "../tests/harness/flakes.ts";
import { setupNixEnv } from "../tests/harness/nix.ts";
import { HOST_QEMU } from "../tests/unit/qsu-fixtures.ts";
import { startUserManager } from "../tests/harness/systemd.ts";

const REPO = resolve(import.meta.dirname, "..");
const REPS = (() => {
  const i = process.argv.indexOf("--reps");
  return i >= 0 ? Number(process.argv[i + 1]) : 5;
})();


function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const nixEnv = await setupNixEnv();
const flakes = await testFlakes();
const kernel = process.env.KDEVFLOW_QSU_TEST_KERNEL
  ? await loadManifest("KDEVFLOW_QSU_TEST_KERNEL", KernelManifest, process.env.KDEVFLOW_QSU_TEST_KERNEL)
  : await testKernel();
const mgr = await startUserManager();
const wb = await mkdtemp(join(tmpdir(), "kdevflow-bench-boot-"));
// The raw boot (the same vectors by hand, median), which a fully reused bring-up is held to.
let rawBootMs: number | undefined;
const env: Record<string, string> = { ...mgr.env, ...nixEnv, KDEVFLOW_WORKBENCH: wb, SYSTEM_DIR: join(wb, "system"), WORKERS_DIR: join(wb, "workers"), WORKER_INDEX: "0" };
try {
  const built = await runFlowCli("f/nix/build", { vm: "bench", nixos_flake: flakes.library }, env);
  if (built.exitCode !== 0) throw new Error(`f/nix/build failed:\n${built.stderr}`);
  const closure = ClosureResult.parse(built.result);
  // The test guest powers off after its markers (kdevflow.oneshot): one boot is one cycle.
  const prepared = await prepareBoot(
    { vm: "bench", kernel, qemu: HOST_QEMU, closure, accel: "tcg", ssh_port: 0, memory_mb: 256, ready_marker: DEFAULT_READY_MARKER, kernel_params: ["kdevflow.oneshot"] },
    env,
  );
  const { plan } = prepared;
  const marker = plan.readyMarker ?? DEFAULT_READY_MARKER;
  const seen = async () => findMarker(await readConsole(plan.paths.consoleLog), marker) !== null;

  const viaUnits = async (): Promise<number> => {
    const t0 = performance.now();
    await applyBoot(prepared, env);
    await until("the marker (units)", 120_000, seen);
    const ms = performance.now() - t0;
    await until("the guest to power off", 120_000, async () => {
      const [q] = await unitStates(env, [plan.qemuUnit]);
      return q?.active === "inactive" || q?.active === "failed";
    });
    return ms;
  };

  const byHand = async (): Promise<number> => {
    await rm(plan.paths.consoleLog, { force: true });
    await mkdir(plan.paths.runDir, { recursive: true });
    const t0 = performance.now();
    const daemons = plan.shareUnits.map((u) => {
      rmSync(u.socket, { force: true });
      return spawn(u.argv[0]!, u.argv.slice(1), { stdio: "ignore" });
    });
    await until("the virtiofsd sockets", 10_000, async () => plan.shareUnits.every((u) => existsSync(u.socket)));
    const qemu = spawn(plan.qemuArgv[0]!, plan.qemuArgv.slice(1), { stdio: "ignore" });
    const exited = new Promise<void>((r) => qemu.on("exit", () => r()));
    await until("the marker (by hand)", 120_000, seen);
    const ms = performance.now() - t0;
    await exited;
    await Promise.all(daemons.map((d) => new Promise<void>((r) => (d.exitCode !== null ? r() : d.on("exit", () => r())))));
    return ms;
  };

  const units: number[] = [];
  const hand: number[] = [];
  await viaUnits(); // warm-up: page cache, KVM probe cache, unit files
  await byHand();
  for (let i = 0; i < REPS; i++) {
    units.push(await viaUnits());
    hand.push(await byHand());
    console.error(`rep ${i + 1}/${REPS}: units ${(units[i]! / 1000).toFixed(2)} s, by hand ${(hand[i]! / 1000).toFixed(2)} s`);
  }
  const mu = median(units);
  const mh = median(hand);
  rawBootMs = mh;
  console.log(`boot to marker (median of ${REPS}, TCG, ${plan.shareUnits.length} virtiofs shares, kernel ${kernel.kernelrelease})`);
  console.log(`  through the units (boot apply: units, start; to marker): ${(mu / 1000).toFixed(2)} s`);
  console.log(`  the same QEMU and virtiofsd vectors by hand:             ${(mh / 1000).toFixed(2)} s`);
  console.log(`  ratio units / by hand:                                   ${(mu / mh).toFixed(2)}x`);
} finally {
  await mgr.stop();
  await rm(wb, { recursive: true, force: true });
}

if (process.argv.includes("--bringup")) {
  const upstream = await linuxUpstream();
  const benchWb = join(fixturesRoot(), "qsu-bench-workbench");
  await mkdir(benchWb, { recursive: true });
  const m2 = await startUserManager();
  try {
    const benv: Record<string, string> = {
      ...m2.env,
      ...nixEnv,
      KDEVFLOW_WORKBENCH: benchWb,
      SYSTEM_DIR: join(benchWb, "system"),
      WORKERS_DIR: join(benchWb, "workers"),
      WORKER_INDEX: "0",
      KDEVFLOW_CCACHE_DIR: testCcacheDir(),
    };
    const inputs = {
      vm: "bench-up",
      workbench: { sources: [{ name: "linux", url: upstream.url, refresh_minutes: 60 }] },
      kernel: { git_ref: upstream.tag, ...TEST_KERNEL_INPUTS, nixos_flake: flakes.devshell },
      qemu: { method: "nix", nixos_flake: flakes.library },
      nix: { nixos_flake: flakes.library },
      accel: "tcg",
      ssh_port: 0,
      ready_marker: DEFAULT_READY_MARKER,
      memory_mb: 256,
    };
    const times: number[] = [];
    let lastStderr = "";
    for (let i = 0; i < 2; i++) {
      const r = await runFlowCli("f/qsu/bringup", inputs, benv);
      if (r.exitCode !== 0) throw new Error(`bringup failed:\n${r.stderr.split("\n").slice(-40).join("\n")}`);
      times.push(r.ms);
      lastStderr = r.stderr;
    }
    console.log(`f/qsu/bringup: first run ${(times[0]! / 1000).toFixed(1)} s (builds what the bench Workbench lacks), everything reused ${(times[1]! / 1000).toFixed(1)} s`);
    const reused = times[1]!;
    if (rawBootMs !== undefined) {
      console.log(`  over the raw boot (${(rawBootMs / 1000).toFixed(2)} s by hand, above): +${((reused - rawBootMs) / 1000).toFixed(1)} s (target: at most +5 s)`);
    }
    // Every step of the reused run, in the order it ran: where the time goes.
    const steps = [...lastStderr.matchAll(/<== step (\S+): (?:(ok|failed) in ([\d.]+) (m?s)|(skipped))/g)].map((m) =>
      m[5] ? { step: m[1]!, how: "skipped", ms: 0 } : { step: m[1]!, how: m[2]!, ms: Number(m[3]) * (m[4] === "s" ? 1000 : 1) },
    );
    // A sub-flow's line (workbench, kernel, qemu, closure) comes after its own steps and includes them.
    console.log(`  the reused run, step by step (${steps.length} lines; a sub-flow's line follows its steps and includes them):`);
    for (const x of steps) console.log(`    ${x.step.padEnd(34)} ${x.how.padEnd(9)} ${(x.ms / 1000).toFixed(2)} s`);
  } finally {
    await m2.stop();
  }
}
