// report: the last step of f/kernel/selftests. Reads what the session kept (output.ktap
// in the result directory) and what the run step knows (how it ended), and writes the
// result set beside it: each test's log, junit.xml, summary.txt and result.json, each
// atomically, result.json last (a directory with a result.json is a finished one). Safe
// to re-run: it rewrites the same files from the same output.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../common/atomic.ts";
import { readResult } from "../../common/inputs.ts";
import { setProgress } from "../../common/progress.ts";
import { parseKtapRun } from "./ktap.ts";
import { buildResultSet, KTAP_FILE, resultFiles, RunFacts, summaryText } from "./results.ts";

export async function main(run: object) {
  const facts = readResult(RunFacts, run, "the run step's result");
  const output = await readFile(join(facts.dir, KTAP_FILE), "utf8").catch(() => "");
  const { result, logs } = buildResultSet(parseKtapRun(output), facts);
  for (const f of resultFiles(result, logs)) await writeFileAtomic(join(facts.dir, f.path), f.content);
  console.log(summaryText(result));
  await setProgress(100, `${result.summary.total} tests: ${result.state}`);
  return result;
}
