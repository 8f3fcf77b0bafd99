// After a make step that did not finish, the outputs kbuild's .cmd files do not guard
// (tools/, kselftest/) are removed before make runs again (f/kernel/build/unfinished.ts);
// after one that finished nothing is. Real files in a temporary build dir; the make is a
// function that writes or fails as make would.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { COMPILE_GUARD, guardUnfinished, leftoversMessage, leftoversToRemove, SELFTESTS_GUARD } from "../../f/kernel/build/unfinished.ts";

const scratch = mkdtempSync(join(tmpdir(), "kdevflow-unfinished-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A build dir with a kbuild object, a tools/ output and a kselftest/ output. */
function buildDir(): string {
  const dir = mkdtempSync(join(scratch, "build-"));
  mkdirSync(join(dir, "kernel"));
  writeFileSync(join(dir, "kernel", "fork.o"), "o");
  mkdirSync(join(dir, "tools/objtool/arch/x86/lib"), { recursive: true });
  writeFileSync(join(dir, "tools/objtool/arch/x86/lib/inat-tables.c"), "/* cut sho");
  mkdirSync(join(dir, "kselftest/timers"), { recursive: true });
  writeFileSync(join(dir, "kselftest/timers/posix_timers"), "half");
  return dir;
}

describe("leftoversToRemove and its message", () => {
  it("nothing without the stamp; the unguarded folders with it", () => {
    expect(leftoversToRemove("/b", COMPILE_GUARD, false)).toEqual([]);
    expect(leftoversToRemove("/b", COMPILE_GUARD, true)).toEqual(["/b/tools"]);
    expect(leftoversToRemove("/b", SELFTESTS_GUARD, false)).toEqual([]);
    expect(leftoversToRemove("/b", SELFTESTS_GUARD, true)).toEqual(["/b/kselftest"]);
  });

  it("the two steps keep different stamps, so one finishing does not vouch for the other", () => {
    expect(COMPILE_GUARD.stamp).not.toBe(SELFTESTS_GUARD.stamp);
  });

  it("says which step did not finish and what goes, in one line", () => {
    const line = leftoversMessage(COMPILE_GUARD, ["/b/tools"]);
    expect(line).toBe(
      "compile: the last compile in this build dir did not finish (killed or failed); removing /b/tools, whose half-written outputs make cannot tell from finished ones",
    );
    expect(line).not.toContain("\n");
  });
});

describe("guardUnfinished", () => {
  it("a make that finishes: nothing removed, the stamp there while it runs and gone after", async () => {
    const dir = buildDir();
    const stamp = join(dir, COMPILE_GUARD.stamp);
    let seen = false;
    const out = await guardUnfinished(dir, COMPILE_GUARD, async () => {
      seen = existsSync(stamp);
      return 42;
    });
    expect(out).toBe(42);
    expect(seen).toBe(true);
    expect(existsSync(stamp)).toBe(false);
    expect(existsSync(join(dir, "tools/objtool/arch/x86/lib/inat-tables.c"))).toBe(true);
  });

  it("a make that fails keeps the stamp, and the next run removes tools/ only, says so, and ends clean", async () => {
    const dir = buildDir();
    await expect(
      guardUnfinished(dir, COMPILE_GUARD, async () => {
        throw new Error("make: *** [Makefile:1497: tools/objtool] Error 2");
      }),
    ).rejects.toThrow("Error 2");
    expect(existsSync(join(dir, COMPILE_GUARD.stamp))).toBe(true);

    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      let toolsDuringMake = true;
      await guardUnfinished(dir, COMPILE_GUARD, async () => {
        toolsDuringMake = existsSync(join(dir, "tools"));
      });
      expect(toolsDuringMake).toBe(false);
      expect(log.mock.calls.map((c) => c[0])).toEqual([leftoversMessage(COMPILE_GUARD, [join(dir, "tools")])]);
    } finally {
      log.mockRestore();
    }
    expect(readdirSync(dir).sort()).toEqual(["kernel", "kselftest"]); // kbuild's own outputs and the other step's stay
    expect(existsSync(join(dir, "kernel", "fork.o"))).toBe(true);
  });

  it("a stamp left by a killed run (written, never removed) clears kselftest/ for the selftests step", async () => {
    const dir = buildDir();
    writeFileSync(join(dir, SELFTESTS_GUARD.stamp), "2026-12-01T00:00:00.000Z\n");
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      await guardUnfinished(dir, SELFTESTS_GUARD, async () => undefined);
    } finally {
      log.mockRestore();
    }
    expect(readdirSync(dir).sort()).toEqual(["kernel", "tools"]);
  });
});
