// The kselftest part of a kernel build, planned: which targets a tree offers (its
// tools/testing/selftests/Makefile), checking the requested ones against them, the make
// arguments of `kselftest-install` for those targets into destdir/kselftest, progress
// from make's directory lines, and reading the installed kselftest-list.txt. Pure.

import { InputError } from "../../common/errors.ts";
import { choiceList } from "../../common/inputs.ts";

/** Where the kselftest Makefile sits in a kernel tree. */
export const KSELFTEST_MAKEFILE = "tools/testing/selftests/Makefile";
/** The install folder under the build's destdir (and so under its store path). */
export const KSELFTEST_DIR = "kselftest";
export const KSELFTEST_RUNNER = "run_kselftest.sh";
export const KSELFTEST_LIST = "kselftest-list.txt";

/** A target as the Makefile names it: a folder under tools/testing/selftests (net/forwarding). */
export const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*(\/[A-Za-z0-9][A-Za-z0-9._+-]*)*$/;

/**
 * The TARGETS of a kselftest Makefile, in its order: every `TARGETS += a b` (or `=`,
 * `:=`) line, conditional ones included (timers sits under `ifneq ($(quicktest))`).
 * Lines of other variables (TARGETS_HOTPLUG) and make expressions are not targets.
 */
export function makefileTargets(makefile: string): string[] {
  const out: string[] = [];
  for (const line of makefile.split("\n")) {
    const m = /^\s*TARGETS\s*(?:\+=|:=|\?=|=)\s*(.*?)\s*(?:#.*)?$/.exec(line);
    if (!m) continue;
    for (const word of m[1]!.split(/\s+/)) if (TARGET_NAME.test(word) && !out.includes(word)) out.push(word);
  }
  return out;
}

/** The requested targets, each one the tree has and none twice; else one InputError naming the valid ones. */
export function checkTargets(requested: readonly string[], available: readonly string[]): string[] {
  if (requested.length > 0 && available.length === 0) {
    throw new InputError("selftests", `no kselftest targets, since this tree has no ${KSELFTEST_MAKEFILE} with TARGETS`, requested[0]);
  }
  const seen = new Set<string>();
  for (const [i, t] of requested.entries()) {
    if (!available.includes(t)) throw new InputError(`selftests[${i}]`, `a kselftest target of this tree (${choiceList(closest(t, available))})`, t);
    if (seen.has(t)) throw new InputError(`selftests[${i}]`, "each target once", t);
    seen.add(t);
  }
  return [...requested];
}

/**
 * The targets in the order worth naming for a wrong one: those containing it (or
 * contained in it), then those sharing its first letters, then the rest in the
 * Makefile's order. The message shows the first eight and counts the others.
 */
export function closest(wrong: string, available: readonly string[]): string[] {
  const w = wrong.toLowerCase();
  const score = (t: string): number => {
    const s = t.toLowerCase();
    if (s.includes(w) || w.includes(s)) return 0;
    let common = 0;
    while (common < s.length && common < w.length && s[common] === w[common]) common++;
    return common >= 2 ? 1 : common === 1 ? 2 : 3;
  };
  return available
    .map((t, i) => ({ t, i, s: score(t) }))
    .sort((a, b) => a.s - b.s || a.i - b.i)
    .map((x) => x.t);
}

/**
 * The make arguments (after the build's shared variables) that build and install the
 * targets: `kselftest-install` with exactly these TARGETS (SKIP_TARGETS emptied so a
 * requested bpf is not dropped), FORCE_TARGETS so a target that does not build fails the
 * step instead of silently missing, and the install path.
 */
export function kselftestMakeTargets(targets: readonly string[], installDir: string): string[] {
  if (targets.length === 0) throw new Error("kselftestMakeTargets: no targets");
  return [`TARGETS=${targets.join(" ")}`, "SKIP_TARGETS=", "FORCE_TARGETS=1", `KSFT_INSTALL_PATH=${installDir}`, "kselftest-install"];
}

/**
 * Progress of a kselftest-install: make enters each target's folder once to build it and
 * once to install it. Returns the target a line enters, or null.
 */
export function enteredTarget(line: string, targets: readonly string[]): string | null {
  const m = /Entering directory '.*\/tools\/testing\/selftests\/(.+)'$/.exec(line);
  if (!m) return null;
  return targets.includes(m[1]!) ? m[1]! : null;
}

/** One line of kselftest-list.txt: `collection:test`. */
export interface ListedTest {
  collection: string;
  test: string;
  /** `collection:test`, the name run_kselftest.sh -t takes. */
  name: string;
}

/** Read kselftest-list.txt (one `collection:test` a line; blank lines ignored). */
export function parseKselftestList(text: string): ListedTest[] {
  const out: ListedTest[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.lastIndexOf(":");
    if (at <= 0 || at === line.length - 1) throw new Error(`kselftest-list.txt: not a collection:test line: ${JSON.stringify(line)}`);
    out.push({ collection: line.slice(0, at), test: line.slice(at + 1), name: line });
  }
  return out;
}

/** Every requested target installed at least one test (FORCE_TARGETS catches build failures; this catches an empty one). */
export function missingTargets(targets: readonly string[], listed: readonly ListedTest[]): string[] {
  const have = new Set(listed.map((t) => t.collection));
  return targets.filter((t) => !have.has(t));
}
