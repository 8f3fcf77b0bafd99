// f/kernel/build with kselftest targets, against a real kernel tree (the Linux fixture
// with kdevflow's kselftest collection, tests/harness/selftests.ts), real make inside
// the test dev shell and the real Nix store: the kselftest install lands in the
// published store path with run_kselftest.sh and kselftest-list.txt, a second build
// with the same targets is reused in seconds and keeps it, and an unknown target is
// refused before anything is built. The build runs in the persistent selftests
// Workbench the run tests share (built once, reused after).
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { KernelManifest } from "../../f/common/manifest.ts";
import { run } from "../../f/common/run.ts";
import { buildKernel, kernelTestEnv, runFlowCli } from "../harness/kernel.ts";
import { linuxSelftestsUpstream, SELFTEST_TARGETS, SELFTESTS_KERNEL_INPUTS, selftestsKernel, selftestsWorkbench } from "../harness/selftests.ts";

const BUILD_TIMEOUT = 45 * 60_000;
const PROBE_TIMEOUT = 10 * 60_000;

describe("f/kernel/build with kselftest targets", () => {
  let manifest: KernelManifest;
  let env: Record<string, string>;
  let inputs: Record<string, unknown>;

  beforeAll(async () => {
    manifest = await selftestsKernel();
    env = await kernelTestEnv(selftestsWorkbench());
    inputs = { git_ref: (await linuxSelftestsUpstream()).tag, ...SELFTESTS_KERNEL_INPUTS };
  }, BUILD_TIMEOUT);

  it("installs the targets into the published store path and lists them in the manifest", () => {
    expect(manifest.selftests).toEqual({ targets: [...SELFTEST_TARGETS], install_dir: join(manifest.store_path!, "kselftest") });
    const dir = manifest.selftests!.install_dir;
    for (const f of ["run_kselftest.sh", "kselftest-list.txt", "kselftest/runner.sh"]) expect(existsSync(join(dir, f)), f).toBe(true);
  });

  it("lists exactly the targets' tests in kselftest-list.txt, each installed and executable", async () => {
    const list = (await readFile(join(manifest.selftests!.install_dir, "kselftest-list.txt"), "utf8")).trim().split("\n");
    expect(list).toEqual(["size:get_size", "sigaltstack:sas", "kdevflow:pass", "kdevflow:regress", "kdevflow:hang", "kdevflow:skip"]);
    for (const entry of list) {
      const [collection, test] = entry.split(":");
      expect(statSync(join(manifest.selftests!.install_dir, collection!, test!)).mode & 0o111, entry).not.toBe(0);
    }
  });

  it("built the fixture's tests for real: kdevflow:pass runs and prints its TAP", async () => {
    const res = await run(["./pass"], { cwd: join(manifest.selftests!.install_dir, "kdevflow"), capture: true, quiet: true });
    expect(res.stdout).toContain("ok 2 second check");
  });

  it("is reused with its kselftest install by a second build with the same targets, in seconds", { timeout: BUILD_TIMEOUT }, async () => {
    const again = await buildKernel(inputs, env);
    expect(again.manifest.reused).toBe(true);
    expect(again.manifest.identity).toBe(manifest.identity);
    expect(again.manifest.selftests).toEqual(manifest.selftests);
    expect(existsSync(join(again.manifest.selftests!.install_dir, "kdevflow", "regress"))).toBe(true);
    for (const step of ["compile", "install", "selftests", "publish"]) expect(again.stderr).toContain(`<== step ${step}: skipped`);
    expect(again.stderr).not.toMatch(/^\+ .*make .*kselftest-install$/m);
    console.log(`reused build with selftests: ${(again.ms / 1000).toFixed(1)} s`);
    expect(again.ms).toBeLessThan(60_000);
  });

  it("other targets are another build: the targets are part of the identity", { timeout: PROBE_TIMEOUT }, async () => {
    // Stops after identify: reuse off, and an identity only; nothing is compiled.
    const { main: checkInputs } = await import("../../f/pipeline/check_inputs.ts");
    const { main: prepareWorktree } = await import("../../f/workbench/prepare_worktree.ts");
    const { main: configure } = await import("../../f/kernel/build/configure.ts");
    const { main: identify } = await import("../../f/pipeline/identify.ts");
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const probe = async (selftests: string[]) => {
        const checked = await checkInputs("linux", { ...inputs, selftests, reuse: false });
        const wt = await prepareWorktree("linux", checked.source!.commit);
        await configure(checked, wt);
        return (await identify("linux", checked, wt, null)).identity;
      };
      expect(await probe([...SELFTEST_TARGETS])).toBe(manifest.identity);
      expect(await probe(["size", "kdevflow"])).not.toBe(manifest.identity);
    } finally {
      process.env = saved;
    }
  });

  it.each([
    ["an unknown target", ["size", "nosuch"], /selftests\[1\]: expected a kselftest target of this tree \(.*or one of \d+ more\), got "nosuch"\./],
    ["a target named twice", ["size", "size"], /selftests\[1\]: expected each target once, got "size"\./],
    ["a path for a target", ["../size"], /selftests\[0\]: expected a kselftest target name such as size, timers or net\/forwarding, got "\.\.\/size"\./],
  ])("refuses %s in one sentence, before the worktree is touched", { timeout: PROBE_TIMEOUT }, async (_what, selftests, message) => {
    const res = await runFlowCli("f/kernel/build", { ...inputs, selftests }, env);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).not.toMatch(/==> step prepare_worktree/);
  });
});
