// report: write a result set from what a run kept. The run step calls reportRun when
// its session ends; as a script, report re-makes the files of a result directory from
// its output.ktap and run.json (after a crash, or to read an old run with a newer
// parser). Each test's log, junit.xml, summary.txt and result.json are written
// atomically, result.json last (a directory with a result.json is a finished one). Safe
// to re-run: the same output gives the same files.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../common/atomic.ts";
import { InputError } from "../../common/errors.ts";
import { setProgress } from "../../common/progress.ts";
import { parseKtapRun } from "./ktap.ts";
import { buildResultSet, KTAP_FILE, resultFiles, RUN_FILE, RunFacts, summaryText, type ResultSet } from "./results.ts";

export async function reportRun(facts: RunFacts): Promise<ResultSet> {
  const output = await readFile(join(facts.dir, KTAP_FILE), "utf8").catch(() => "");
  const { result, logs } = buildResultSet(parseKtapRun(output), facts);
  for (const f of resultFiles(result, logs)) await writeFileAtomic(join(facts.dir, f.path), f.content);
  console.log(summaryText(result));
  await setProgress(100, `${result.summary.total} tests: ${result.state}`);
  return result;
}

/** Re-make the result set of a result directory (absolute) from its output.ktap and run.json. */
export async function main(dir: string) {
  const text = typeof dir === "string" && dir.startsWith("/") ? await readFile(join(dir, RUN_FILE), "utf8").catch(() => null) : null;
  const facts = text === null ? null : RunFacts.safeParse(JSON.parse(text));
  if (!facts?.success) throw new InputError("dir", `a result directory of f/kernel/selftests (absolute, holding ${RUN_FILE})`, dir);
  return reportRun({ ...facts.data, dir });
}
