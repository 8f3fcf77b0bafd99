// run: the step of f/kernel/selftests. First it parses and checks every input without
// touching the guest (check.ts: bad input is one InputError sentence); then it makes the
// result directory (SYSTEM_DIR/results/kernel-<identity>/<time>[-<label>]/), runs the
// selected tests in the guest over SSH with the guest driver, one at a time with the
// timeout, printing each verdict as it arrives (progress in percent of tests), keeps the
// output (output.ktap) and the guest's console log beside it, and writes the result set
// (report.ts). A guest that dies or hangs ends the session; the result set then holds
// the results so far, marked. Re-running it is a new run in a new directory.
//
// One step, not check, run and report: each step of a flow is a process whose imports
// alone (zod, execa) take about 170 ms here, which the fixed cost of a run cannot afford
// (docs/perf/selftests.md).

import { randomBytes } from "node:crypto";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../../common/atomic.ts";
import { workbenchLayout } from "../../common/layout.ts";
import { setProgress } from "../../common/progress.ts";
import { driverCommand, driverMark } from "./driver.ts";
import { guestSshArgv, probeGuest } from "./guest.ts";
import { reportRun } from "./report.ts";
import { checkRun } from "./check.ts";
import { CONSOLE_FILE, kernelResultsDir, KTAP_FILE, RUN_FILE, runDirName, type ResultSet, type RunFacts } from "./results.ts";
import { runSession } from "./session.ts";

/** Seconds past a test's timeout the host waits for its verdict before it looks at the guest. */
export const GRACE_S = 30;

/** A new result directory named by the start time; a clash (two runs in one millisecond) waits a millisecond. */
async function makeRunDir(parent: string, label: string): Promise<{ dir: string; started: Date }> {
  await mkdir(parent, { recursive: true });
  for (;;) {
    const started = new Date();
    const dir = join(parent, runDirName(started, label));
    try {
      await mkdir(dir);
      return { dir, started };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

export async function main(flow_input: object): Promise<ResultSet> {
  const c = await checkRun(flow_input);
  const { dir, started } = await makeRunDir(kernelResultsDir(workbenchLayout(), c.kernel.identity), c.inputs.label);
  console.log(`selftests: ${c.tests.length} tests of ${c.kernel.kernelrelease} on ${c.inputs.vm}; results in ${dir}`);
  await setProgress(0, `0/${c.tests.length} tests`);
  const mark = driverMark(randomBytes(8).toString("hex"));
  const session = await runSession({
    argv: guestSshArgv(c.guest, driverCommand(mark, c.install_dir, c.inputs.timeout_s, c.tests)),
    mark,
    selected: c.tests,
    timeoutS: c.inputs.timeout_s,
    graceS: GRACE_S,
    outputFile: join(dir, KTAP_FILE),
    probe: () => probeGuest(c.guest),
  });
  const consoleKept = await copyFile(c.guest.console_log, join(dir, CONSOLE_FILE)).then(
    () => true,
    () => false,
  );
  const facts: RunFacts = {
    label: c.inputs.label,
    vm: c.inputs.vm,
    kernel: c.kernel,
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    timeout_s: c.inputs.timeout_s,
    selected: c.tests,
    state: session.state,
    note: session.note,
    dir,
    console_log: consoleKept,
  };
  await writeJsonAtomic(join(dir, RUN_FILE), facts);
  return reportRun(facts);
}
