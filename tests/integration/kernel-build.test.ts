// f/kernel/build against a real Linux tree (Debian's linux-source as a local upstream),
// real make inside `nix develop` of the test dev shell, real b4 and git am, the real
// Nix store, and a real QEMU (TCG) boot of what was built. One temporary Workbench for
// the whole file; the ccache lives outside it (tests/harness/kernel.ts) so reruns are
// warm. The tests run in order and build on each other's state to keep the number of
// full builds small (one cold-ish build, one series build, identity probes that stop
// after configure).

import { existsSync, statSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelManifest } from "../../f/common/manifest.ts";
import { capture, run } from "../../f/common/run.ts";
import { main as configure } from "../../f/kernel/build/configure.ts";
import { main as checkInputs } from "../../f/pipeline/check_inputs.ts";
import { main as identify } from "../../f/pipeline/identify.ts";
import { main as prepareWorktree } from "../../f/workbench/prepare_worktree.ts";
import { linuxUpstream, type UpstreamFixture } from "../harness/fixtures.ts";
import { bootTcg, buildKernel, initLinuxWorkbench, kernelTestEnv, makeInitramfs, runFlowCli, TEST_KERNEL_INPUTS } from "../harness/kernel.ts";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/kernel");
const SERIES_V2 = join(FIXTURES, "demo-series-v2.mbox");
const SERIES_BAD = join(FIXTURES, "does-not-apply.mbox");
const SERIES_LABEL = "kdevflow-demo-series-for-build-tests-v2";
// A build on two busy cores can take many minutes; a probe stops after configure.
const BUILD_TIMEOUT = 45 * 60_000;
const PROBE_TIMEOUT = 10 * 60_000;

describe("f/kernel/build with a real kernel tree", () => {
  let upstream: UpstreamFixture;
  let workbench: string;
  let env: Record<string, string>;
  let first: KernelManifest;
  let inputs: Record<string, unknown>;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    upstream = await linuxUpstream();
    workbench = await mkdtemp(join(tmpdir(), "kdevflow-kernel-"));
    env = await kernelTestEnv(workbench);
    await initLinuxWorkbench(workbench, upstream, env);
    inputs = { git_ref: upstream.tag, ...TEST_KERNEL_INPUTS };
  });

  afterAll(async () => {
    process.env = savedEnv;
    if (workbench) {
      // Store entries rooted under this Workbench lose their roots with it.
      await rm(workbench, { recursive: true, force: true });
    }
  });

  const worktree = () => join(workbench, "workers", "0", "linux");
  const bare = () => join(workbench, "system", "bare", "linux.git");

  it("builds a small x86_64 kernel with a module, publishes it, and it boots to the marker with uname -r = kernelrelease", { timeout: BUILD_TIMEOUT }, async () => {
    const built = await buildKernel(inputs, env);
    first = built.manifest;
    expect(first.reused).toBe(false);
    expect(first.label).toBe("vanilla");
    expect(first.kernelrelease).toBe(`${upstream.version}-vanilla-${first.identity}`);
    expect(first.kernelrelease.length).toBeLessThanOrEqual(64);
    expect(first.store_key).toBe(`kernel-${first.kernelrelease}`);
    expect(first.store_path).toMatch(new RegExp(`^/nix/store/[a-z0-9]{32}-kernel-${first.kernelrelease}$`));
    // The published tree: image, config and modules, in the store.
    expect(first.image).toBe(join(first.store_path!, "boot", `vmlinuz-${first.kernelrelease}`));
    expect(first.modules_dir).toBe(join(first.store_path!, "lib", "modules", first.kernelrelease));
    expect(existsSync(first.image)).toBe(true);
    expect(await readFile(first.config, "utf8")).toMatch(/^CONFIG_IKCONFIG=m$/m);
    const modules = (await capture(["find", first.modules_dir!, "-name", "*.ko"])).split("\n").filter(Boolean);
    expect(modules.map((m) => m.split("/").at(-1))).toContain("configs.ko");
    expect(await readFile(join(first.modules_dir!, "modules.dep"), "utf8")).toContain("configs.ko");
    expect(existsSync(join(first.modules_dir!, "build"))).toBe(false);
    // result.json beside the build, identical to the flow result.
    expect(JSON.parse(await readFile(join(worktree(), "build", "result.json"), "utf8"))).toEqual(first);
    // devtools: compile_commands.json in the source root, naming real compile units.
    expect(first.compile_commands).toBe(join(worktree(), "compile_commands.json"));
    const commands = JSON.parse(await readFile(first.compile_commands!, "utf8")) as { file: string }[];
    expect(commands.some((c) => c.file.endsWith("init/main.c"))).toBe(true);
    // Progress was reported from make's CC lines.
    expect(built.stderr).toMatch(/\[progress +\d+%\] compile \d+\/\d+/);

    // Boot it under QEMU (TCG) with a busybox initramfs that loads the module.
    const scratch = await mkdtemp(join(tmpdir(), "kdevflow-boot-"));
    try {
      const initrd = join(scratch, "initrd.gz");
      const made = await makeInitramfs(initrd, { modulesDir: first.modules_dir, kernelrelease: first.kernelrelease });
      expect(made.modules).toEqual([`/lib/modules/${first.kernelrelease}/kernel/kernel/configs.ko`]);
      const boot = await bootTcg(first.image, initrd);
      expect(boot.booted, boot.console.slice(-2000)).toBe(true);
      expect(boot.uname).toBe(first.kernelrelease);
      expect(boot.modulesLoaded).toEqual(made.modules);
      expect(boot.procConfig).toBe(true);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it("a series that does not apply fails with a clear message and leaves the worktree at the ref", { timeout: PROBE_TIMEOUT }, async () => {
    const res = await runFlowCli("f/kernel/build", { ...inputs, b4_series: SERIES_BAD }, env);
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toMatch(/b4_series: the series "\[PATCH 0\/1\] kdevflow: a series that does not apply" does not apply on top of the ref/);
    expect(res.stderr).toMatch(/the worktree was reset to the ref/);
    const status = await capture(["git", "-C", worktree(), "status", "--porcelain", "--untracked-files=no"]);
    expect(status).toBe("");
    expect(await capture(["git", "-C", worktree(), "rev-parse", "HEAD"])).toBe(first.commit);
    const gitDir = await capture(["git", "-C", worktree(), "rev-parse", "--git-dir"]);
    expect(existsSync(join(resolve(worktree(), gitDir), "rebase-apply"))).toBe(false);
  });

  it("the same inputs again give the same identity and reuse the published build without compiling", { timeout: BUILD_TIMEOUT }, async () => {
    const again = await buildKernel(inputs, env);
    expect(again.manifest.reused).toBe(true);
    expect(again.manifest.identity).toBe(first.identity);
    expect(again.manifest.store_path).toBe(first.store_path);
    expect(again.manifest.image).toBe(first.image);
    for (const step of ["compile", "devtools", "install", "publish"]) expect(again.stderr).toContain(`<== step ${step}: skipped`);
    expect(again.stderr).not.toMatch(/\+ .*make .* all$/m);
  });

  it("a b4 v2 series from a local mbox applies, is labelled <slug>-v2 and kept in the Bare", { timeout: BUILD_TIMEOUT }, async () => {
    const { manifest } = await buildKernel({ ...inputs, b4_series: SERIES_V2 }, env);
    expect(manifest.label).toBe(SERIES_LABEL);
    expect(manifest.kernelrelease).toBe(`${upstream.version}-${SERIES_LABEL}-${manifest.identity}`);
    expect(manifest.b4_series).toBe(SERIES_V2);
    // The series changed the source tree, so it is another build.
    expect(manifest.identity).not.toBe(first.identity);
    expect(manifest.commit).not.toBe(first.commit);
    const branch = await capture(["git", "-C", bare(), "rev-parse", `refs/heads/b4/${SERIES_LABEL}`]);
    expect(branch).toBe(manifest.commit);
    expect(await capture(["git", "-C", bare(), "log", "--format=%s", `${first.commit}..${branch}`])).toBe(
      "docs: add a kdevflow demo line\ninit: note the kdevflow demo series in kernel_init",
    );
  });

  describe("the identity (configure and identify only)", () => {
    // The flow's own steps, in order, stopping after identify (reuse off, so nothing is taken from the Store).
    const probe = async (over: { ref?: string; fragments?: string[]; compiler?: "gcc" | "clang"; custom_label?: boolean; label?: string }) => {
      Object.assign(process.env, env);
      const { ref, ...rest } = over;
      const checked = await checkInputs("linux", { ...inputs, git_ref: ref ?? upstream.tag, ...rest, reuse: false });
      const wt = await prepareWorktree("linux", checked.source!.commit);
      await configure(checked, wt);
      const id = await identify("linux", checked, wt, null);
      return { identity: id.identity, label: id.label, kernelrelease: id.names.kernelrelease };
    };

    it("is the built one for the same inputs, and a changed label does not change it", { timeout: PROBE_TIMEOUT }, async () => {
      const same = await probe({});
      expect(same.identity).toBe(first.identity);
      const relabelled = await probe({ custom_label: true, label: "My experiment" });
      expect(relabelled.identity).toBe(first.identity);
      expect(relabelled.label).toBe("my-experiment");
      expect(relabelled.kernelrelease).toBe(`${upstream.version}-my-experiment-${first.identity}`);
    });

    it("changes with one config option", { timeout: PROBE_TIMEOUT }, async () => {
      const dir = await mkdtemp(join(tmpdir(), "kdevflow-frag-"));
      try {
        const extra = join(dir, "builtin-ikconfig.config");
        await writeFile(extra, "CONFIG_IKCONFIG=y\n");
        const changed = await probe({ fragments: ["tiny-guest", extra] });
        expect(changed.identity).not.toBe(first.identity);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("changes with the compiler", { timeout: PROBE_TIMEOUT }, async () => {
      const clang = await probe({ compiler: "clang" });
      expect(clang.identity).not.toBe(first.identity);
    });

    it("changes with one source file", { timeout: PROBE_TIMEOUT }, async () => {
      // A developer branch in the Bare with one file changed, made with git plumbing.
      const g = (args: string[], extra: Record<string, string> = {}) => capture(["git", "-C", bare(), ...args], { env: extra });
      const blob = await g(["rev-parse", `${first.commit}:init/version.c`]);
      const text = await capture(["git", "-C", bare(), "cat-file", "blob", blob]);
      const dir = await mkdtemp(join(tmpdir(), "kdevflow-src-"));
      try {
        const file = join(dir, "version.c");
        await writeFile(file, `${text}\n/* kdevflow: one changed source file */\n`);
        const newBlob = await g(["hash-object", "-w", file]);
        const index = { GIT_INDEX_FILE: join(dir, "index") };
        await g(["read-tree", first.commit], index);
        await g(["update-index", "--cacheinfo", `100644,${newBlob},init/version.c`], index);
        const tree = await g(["write-tree"], index);
        const commit = await g(["commit-tree", tree, "-p", first.commit, "-m", "init: change one file"], { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" });
        await g(["update-ref", "refs/heads/test/one-file", commit]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const changed = await probe({ ref: "test/one-file" });
      expect(changed.identity).not.toBe(first.identity);
      expect(changed.label).toBe("test-one-file");
    });
  });

  describe("bad input: one sentence naming the field, before anything is built", () => {
    let configMtime: number;
    beforeAll(() => {
      configMtime = statSync(join(worktree(), "build", ".config")).mtimeMs;
    });
    afterAll(() => {
      expect(statSync(join(worktree(), "build", ".config")).mtimeMs).toBe(configMtime);
    });

    it.each([
      ["a ref not in the Bare", { git_ref: "v9.9.9" }, /git_ref: expected a tag, branch, mirror\/<branch> or commit id in the linux Bare/],
      ["an unknown make target", { make_target: "nosuchconfig" }, /make_target: expected a config target this tree has: "defconfig", "tinyconfig", .*"x86_64_defconfig", got "nosuchconfig"\./],
      ["an unknown fragment", { fragments: ["tiny-guest", "no-such-fragment"] }, /fragments\[1\]: expected a fragment name this tree or the project has \(.*\) or an absolute file path, got "no-such-fragment"\./],
      ["a fragment file that does not exist", { fragments: ["tiny-guest", "/nonexistent/extra.config"] }, /fragments\[1\]: expected a fragment file that exists and can be read, got "\/nonexistent\/extra.config"\./],
      ["an mbox that does not exist", { b4_series: "/nonexistent/series.mbox" }, /b4_series: expected the path of an mbox file that exists on this worker, got "\/nonexistent\/series.mbox"\./],
      ["a relative library flake", { nixos_flake: "relative/flake" }, /nixos_flake: expected a flake reference .*, got "relative\/flake"\./],
      ["a label over 40 characters", { custom_label: true, label: "x".repeat(41) }, /label: .*40/],
      ["an empty label with custom_label on", { custom_label: true, label: "" }, /label: expected a label of 1 to 40 characters/],
      ["an arch with no toolchain", { arch: "arm64" }, /arch: expected an architecture whose toolchain is in the library's build shell \(arm64 needs aarch64-linux-gnu-gcc, which is not there\), got "arm64"\./],
    ])("%s", { timeout: PROBE_TIMEOUT }, async (_what, over, message) => {
      const res = await runFlowCli("f/kernel/build", { ...inputs, ...over }, env);
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr).not.toMatch(/\+ .*make .*(all|olddefconfig)$/m);
      // Refused by the first step: the worktree was not even synced.
      expect(res.stderr).not.toMatch(/==> step prepare_worktree/);
    });
  });

  it("make_args with shell metacharacters reach make as literal arguments and nothing is executed", { timeout: PROBE_TIMEOUT }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-meta-"));
    try {
      const pwned = join(dir, "pwned");
      const res = await runFlowCli("f/kernel/build", { ...inputs, make_args: `V=0 ; touch ${pwned} && touch ${pwned}2 $(touch ${pwned}3) \`touch ${pwned}4\`` }, env);
      expect(res.exitCode).not.toBe(0);
      // The argument vector, as printed, carries them as separate literal words...
      expect(res.stderr).toContain(`V=0 ';' touch ${pwned} '&&' touch ${pwned}2 '$(touch' '${pwned}3)' '\`touch' '${pwned}4\`' tinyconfig`);
      // ...which make rejects as the odd goals they are.
      expect(res.stderr).toMatch(/make: .*\*\*\* .*Stop\.|Makefile:\d+: \*\*\* .*Stop\./);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
