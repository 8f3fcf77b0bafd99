// A vitest reporter that fails the run when any test was skipped. A skipped test proves
// nothing, and vitest skips every test of a file whose beforeAll threw; the suites use
// suiteSetup() (suite.ts) so a broken setup fails them instead, and this makes sure no
// test slips through as "skipped" (it.skip, it.todo, a describe.skipIf, a failed hook).
// A run filtered by name (-t) skips the others on purpose and is not checked.

interface TestCaseLike {
  fullName: string;
  result(): { state: string };
}
interface TestModuleLike {
  moduleId: string;
  children: { allTests(): Iterable<TestCaseLike> };
}

export default class NoSkipsReporter {
  private filtered = false;

  onInit(vitest: { config: { testNamePattern?: unknown } }): void {
    this.filtered = Boolean(vitest.config.testNamePattern);
  }

  onTestRunEnd(modules: readonly TestModuleLike[]): void {
    if (this.filtered) return;
    const skipped: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) if (t.result().state === "skipped") skipped.push(`${m.moduleId} > ${t.fullName}`);
    }
    if (skipped.length === 0) return;
    console.error(`\n${skipped.length} test(s) skipped; a skipped test is a failure here:\n${skipped.map((s) => `  ${s}`).join("\n")}\n`);
    process.exitCode = 1;
  }
}
