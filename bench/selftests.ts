// Benchmark: f/kernel/selftests against running the same tests by hand over SSH, side by
// side in one run. The fixed cost of a run (checking the inputs, connecting, the
// driver, parsing, writing the result set) is the difference.
//
//   node_modules/.bin/bun bench/selftests.ts [--rounds N] [--timeout S]
//
// One guest for both sides: the selftests test kernel (tests/harness/selftests.ts) with
// the test library's closure, booted through f/qsu under a private user manager, in a
// temporary Workbench. The tests are every installed test (size, sigaltstack and
// kdevflow's collection, whose `hang` runs into the timeout), each with the same timeout.
// By hand is one ssh through the guest's ssh_config entry running each test in its
// folder under `timeout -s KILL`, output to the terminal (a file here); the flow is
// `./kdevflow run f/kernel/selftests`, which also writes the result set. The order
// alternates between rounds. Prints a table and JSON.

import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClosureResult } from "../f/common/manifest.ts";
import { quoteArg, run } from "../f/common/run.ts";
import { parseKselftestList } from "../f/kernel/build/kselftest.ts";
import { ResultSet } from "../f/kernel/selftests/results.ts";
import { DEFAULT_READY_MARKER } from "../f/qsu/boot/inputs.ts";
import { applyBoot, destroyGuest, prepareBoot, waitBoot } from "../f/qsu/lib/guest.ts";
import { testFlakes } from "../tests/harness/flakes.ts";
import { runFlowCli } from "../tests/harness/kernel.ts";
import { freePort } from "../tests/harness/net.ts";
import { setupNixEnv } from "../tests/harness/nix.ts";
import { selftestsKernel, selftestsWorkbench, waitForSsh } from "../tests/harness/selftests.ts";
import { startUserManager } from "../tests/harness/systemd.ts";
import { HOST_QEMU } from "../tests/unit/qsu-fixtures.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const rounds = arg("--rounds", 3);
const timeoutS = arg("--timeout", 5);
const VM = "bench-st";

const kernel = await selftestsKernel();
const nixEnv = await setupNixEnv();
const mgr = await startUserManager();
const wb = await mkdtemp(join(tmpdir(), "kdevflow-bench-selftests-"));
const env = { ...mgr.env, ...nixEnv, KDEVFLOW_WORKBENCH: wb, SYSTEM_DIR: join(wb, "system"), WORKERS_DIR: join(wb, "workers"), WORKER_INDEX: "0" };

try {
  await mkdir(join(wb, "system", "store-index"), { recursive: true });
  await cp(join(selftestsWorkbench(), "system", "store-index", `${kernel.store_key}.json`), join(wb, "system", "store-index", `${kernel.store_key}.json`));
  const built = await runFlowCli("f/nix/build", { vm: VM, nixos_flake: (await testFlakes()).library }, env);
  if (built.exitCode !== 0) throw new Error(`f/nix/build failed:\n${built.stderr.slice(-3000)}`);
  const closure = ClosureResult.parse(built.result);
  const prepared = await prepareBoot({ vm: VM, kernel, qemu: HOST_QEMU, closure, ssh_port: await freePort(), ready_marker: DEFAULT_READY_MARKER, ready_ssh: false, kernel_params: [], memory_mb: 256, timeout_s: 300 }, env);
  await applyBoot(prepared, env);
  const booted = await waitBoot(prepared, env);
  const sshConfig = booted.login!.ssh_config;
  console.log(`SSH login after ${await waitForSsh(sshConfig, VM)} s`);

  const install = kernel.selftests!.install_dir;
  const tests = parseKselftestList(await readFile(join(install, "kselftest-list.txt"), "utf8"));
  // What a developer types: each test in its folder, with the same timeout, in one ssh.
  const byHandLine = tests.map((t) => `(cd ${quoteArg(join(install, t.collection))} && timeout -s KILL ${timeoutS} ./${quoteArg(t.test)}; echo "${t.name} exit=$?")`).join("; ");
  const byHand = async (i: number) => {
    const started = performance.now();
    const res = await run(["ssh", "-F", sshConfig, "-o", "BatchMode=yes", VM, "--", byHandLine], { capture: true, quiet: true, allowFailure: true });
    const s = (performance.now() - started) / 1000;
    if (!res.stdout.includes(`${tests.at(-1)!.name} exit=`)) throw new Error(`by hand, round ${i}: the last test did not run:\n${res.stdout}${res.stderr}`);
    return s;
  };
  const flow = async (i: number) => {
    const res = await runFlowCli("f/kernel/selftests", { vm: VM, kernel: kernel.store_key, timeout_s: timeoutS, label: `bench-${i}` }, env);
    if (res.exitCode !== 0) throw new Error(`flow, round ${i}:\n${res.stderr.slice(-3000)}`);
    const r = ResultSet.parse(res.result);
    if (r.state !== "complete") throw new Error(`flow, round ${i}: ${r.state}: ${r.note}`);
    const inGuest = r.tests.reduce((n, t) => n + (t.duration_s ?? 0), 0);
    // From the result directory's creation to the end of the session (and the console log's copy).
    const session = (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000;
    return { s: res.ms / 1000, in_guest_s: inGuest, session_s: session };
  };

  // A warm-up of each (the first ssh into a fresh guest, the first Bun start).
  await byHand(0);
  await flow(0);
  const rows: { round: number; flow_s: number; hand_s: number; overhead_s: number; overhead_pct: number; tests_in_guest_s: number; outside_session_s: number }[] = [];
  for (let i = 1; i <= rounds; i++) {
    let f: { s: number; in_guest_s: number; session_s: number };
    let h: number;
    if (i % 2) {
      f = await flow(i);
      h = await byHand(i);
    } else {
      h = await byHand(i);
      f = await flow(i);
    }
    rows.push({ round: i, flow_s: +f.s.toFixed(2), hand_s: +h.toFixed(2), overhead_s: +(f.s - h).toFixed(2), overhead_pct: +((100 * (f.s - h)) / h).toFixed(1), tests_in_guest_s: +f.in_guest_s.toFixed(2), outside_session_s: +(f.s - f.session_s).toFixed(2) });
  }
  const sum = (k: "flow_s" | "hand_s") => rows.reduce((n, r) => n + r[k], 0);
  const median = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const summary = {
    tests: tests.map((t) => t.name),
    timeout_s: timeoutS,
    rounds: rows,
    flow_mean_s: +(sum("flow_s") / rows.length).toFixed(2),
    hand_mean_s: +(sum("hand_s") / rows.length).toFixed(2),
    overhead_pct: +((100 * (sum("flow_s") - sum("hand_s"))) / sum("hand_s")).toFixed(1),
    overhead_median_pct: +median(rows.map((r) => r.overhead_pct)).toFixed(1),
    outside_session_median_s: +median(rows.map((r) => r.outside_session_s)).toFixed(2),
  };
  console.log(`\n${tests.length} tests (${tests.map((t) => t.name).join(", ")}), timeout ${timeoutS} s`);
  console.log("| round | flow (s) | by hand (s) | fixed cost (s) | overhead | tests in the guest (s) | flow outside the SSH session (s) |\n|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.round} | ${r.flow_s} | ${r.hand_s} | ${r.overhead_s} | ${r.overhead_pct}% | ${r.tests_in_guest_s} | ${r.outside_session_s} |`);
  console.log(`| mean | ${summary.flow_mean_s} | ${summary.hand_mean_s} | ${(summary.flow_mean_s - summary.hand_mean_s).toFixed(2)} | ${summary.overhead_pct}% | | |`);
  console.log(`| median | | | | ${summary.overhead_median_pct}% | | ${summary.outside_session_median_s} |`);
  console.log(JSON.stringify(summary));
} finally {
  await destroyGuest(VM, env).catch(() => undefined);
  await mgr.stop();
  await rm(wb, { recursive: true, force: true });
}
