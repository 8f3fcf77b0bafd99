// vitest's global setup: runs once per `vitest run`, before any test file, in the main
// process. It names this run (KDEVFLOW_TEST_RUN_ID) and its folder (KDEVFLOW_TEST_RUN_DIR),
// which the test processes inherit; harness modules keep per-run things there (the test
// flakes, flakes.ts). The folder is removed when the run ends.

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "kdevflow-test-run-"));
  process.env.KDEVFLOW_TEST_RUN_DIR = dir;
  process.env.KDEVFLOW_TEST_RUN_ID = randomUUID();
  return () => rmSync(dir, { recursive: true, force: true });
}
