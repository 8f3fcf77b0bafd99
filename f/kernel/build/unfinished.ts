// A make step that did not finish (killed mid-compile, or failed) leaves outputs the
// next make may take for finished. kbuild itself guards its own: a target is remade
// when its .cmd file (written only after the command succeeded) is missing or differs.
// What the kernel builds with other makefiles does not: tools/ (objtool: inat-tables.c
// is written with `awk ... > $@`, and the `ld -r` objects are plain rules) and the
// kselftests (plain rules under <build>/kselftest). A kill there leaves a truncated
// inat-tables.c or a half-linked objtool-in.o that is newer than its sources, and every
// later build fails the same way (tests/integration/kernel-faults.test.ts found both).
//
// So such a step writes a stamp in the build dir before make and removes it after make
// succeeded; a step that finds the stamp knows the last run did not finish and removes
// the folders no .cmd file guards, which make then rebuilds (seconds, through ccache).

import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../common/atomic.ts";

export interface UnfinishedGuard {
  /** The step, for the message. */
  step: string;
  /** The stamp's name in the build dir. */
  stamp: string;
  /** Folders of the build dir whose outputs kbuild's .cmd files do not guard. */
  unguarded: readonly string[];
}

export const COMPILE_GUARD: UnfinishedGuard = { step: "compile", stamp: ".kdevflow-compile-unfinished", unguarded: ["tools"] };
export const SELFTESTS_GUARD: UnfinishedGuard = { step: "selftests", stamp: ".kdevflow-selftests-unfinished", unguarded: ["kselftest"] };

/** What to remove before make, given whether the stamp is there: absolute paths. Pure. */
export function leftoversToRemove(buildDir: string, guard: UnfinishedGuard, stamped: boolean): string[] {
  return stamped ? guard.unguarded.map((dir) => join(buildDir, dir)) : [];
}

/** The one line a step prints when it removes what an unfinished run left. Pure. */
export function leftoversMessage(guard: UnfinishedGuard, removed: readonly string[]): string {
  return `${guard.step}: the last ${guard.step} in this build dir did not finish (killed or failed); removing ${removed.join(", ")}, whose half-written outputs make cannot tell from finished ones`;
}

/** Run `make` (a step's make commands) between the stamp's write and its removal, clearing what an unfinished run left first. */
export async function guardUnfinished<T>(buildDir: string, guard: UnfinishedGuard, make: () => Promise<T>): Promise<T> {
  const stamp = join(buildDir, guard.stamp);
  const removed = leftoversToRemove(buildDir, guard, existsSync(stamp));
  if (removed.length > 0) {
    console.log(leftoversMessage(guard, removed));
    for (const dir of removed) await rm(dir, { recursive: true, force: true });
  }
  await writeFileAtomic(stamp, `${new Date().toISOString()}\n`);
  const result = await make();
  await rm(stamp, { force: true });
  return result;
}
