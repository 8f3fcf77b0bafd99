// Which folders in TMPDIR are run folders a killed engine left (cli/engine/lifetime.ts):
// named after an engine that no longer runs, or unnamed and older than a day; never one
// kept on purpose, one whose engine still runs, or anything else.

import { describe, expect, it } from "vitest";
import { judgeRunDir, RUN_DIR_PREFIX, runDirPrefix, UNOWNED_RUN_DIR_MAX_AGE_MS } from "../../cli/engine/lifetime.ts";
import { processToken } from "../../f/common/proc.ts";

const fresh = { kept: false, ageMs: 1000 };
const running = (pid: number, start: number) => pid === 100 && start === 5;

describe("judgeRunDir", () => {
  it("removes a folder named after an engine that no longer runs, and says whose", () => {
    expect(judgeRunDir(`${RUN_DIR_PREFIX}200.5-AbC123`, fresh, running)).toEqual({ remove: true, why: "pid 200 is gone" });
    // The same pid with another start time is another process: its engine is gone too.
    expect(judgeRunDir(`${RUN_DIR_PREFIX}100.6-AbC123`, fresh, running)).toEqual({ remove: true, why: "pid 100 is gone" });
  });

  it("keeps the folder of an engine that still runs, and a folder kept on purpose", () => {
    expect(judgeRunDir(`${RUN_DIR_PREFIX}100.5-AbC123`, fresh, running)).toEqual({ remove: false });
    expect(judgeRunDir(`${RUN_DIR_PREFIX}200.5-AbC123`, { kept: true, ageMs: 1000 }, running)).toEqual({ remove: false });
  });

  it("removes an unnamed folder of an older engine only once it is a day old", () => {
    expect(judgeRunDir(`${RUN_DIR_PREFIX}AbC123`, fresh, running)).toEqual({ remove: false });
    expect(judgeRunDir(`${RUN_DIR_PREFIX}AbC123`, { kept: false, ageMs: UNOWNED_RUN_DIR_MAX_AGE_MS + 3600_000 }, running)).toEqual({ remove: true, why: "no owner and 25 h old" });
  });

  it("leaves anything else alone", () => {
    for (const name of ["kdevflow-input-AbC123", `${RUN_DIR_PREFIX}x`, `${RUN_DIR_PREFIX}200.5-toolongname`, "other"]) {
      expect(judgeRunDir(name, { kept: false, ageMs: 10 * UNOWNED_RUN_DIR_MAX_AGE_MS }, running), name).toEqual({ remove: false });
    }
  });

  it("names this engine's folders after this process", () => {
    expect(runDirPrefix("/tmp")).toBe(`/tmp/${RUN_DIR_PREFIX}${processToken()}-`);
  });
});
