// Is this worker ready for kdevflow? Run it as a script on a worker of the kdevflow group
// (it carries the worker tag, so a prepared worker takes it) or on a machine with
// `bun f/common/doctor.ts`: one line per check (f/common/readiness.ts), then
// `ready: yes` or `ready: no (missing: ...)`. The result lists the same; from the
// command line the exit status is 0 when ready, 1 when not. docs/deploy.md says how to
// mend each line.

import { checkAll, checkLine, type Readiness, readiness, verdictLine } from "./readiness.ts";

export async function main(qemu_binary: string = ""): Promise<Readiness> {
  const report = readiness(await checkAll(process.env, qemu_binary || null));
  for (const c of report.checks) console.log(checkLine(c));
  console.log(verdictLine(report));
  return report;
}

if ((import.meta as { main?: boolean }).main) {
  const report = await main(process.argv[2] ?? "");
  process.exit(report.ready ? 0 : 1);
}
