// Faults injected into real kernel builds (the Debian-source fixture, the test kernel
// config, real make inside nix develop, the real Nix store, a QEMU TCG boot), each
// followed by an immediate normal rerun, as an operator whose machine misbehaves would:
//
// - kill -9, SIGHUP (a closed terminal) and SIGTERM of the run's process group while
//   make compiles: no process of the killed run is alive a second later, and the rerun
//   removes what kbuild does not guard (build/tools: objtool's half-written outputs),
//   passes and its kernel boots;
// - a published manifest or an identity entry of the Store index cut in half: the next
//   run says so in one sentence, repairs it from the store path's own manifest and
//   reuses the build;
// - the store verify script changes nothing on a clean index and names each repair on a
//   damaged one.
//
// One temporary Workbench for the file; the ccache is the tests' shared one, so the
// compiles are warm. Figures (time until the last process is gone, rerun times) are
// printed as `FIGURE ...` lines for docs/performance.md.

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelManifest } from "../../f/common/manifest.ts";
import { findMarked, guardGroup, isRunning, lineageMarker, procStat, type ProcStat } from "../../f/common/proc.ts";
import { run } from "../../f/common/run.ts";
import { linuxUpstream, type UpstreamFixture } from "../harness/fixtures.ts";
import { bootTcg, buildKernel, initLinuxWorkbench, KDEVFLOW, kernelTestEnv, makeInitramfs, REPO_ROOT, runFlowCli, TEST_KERNEL_INPUTS } from "../harness/kernel.ts";

const BUILD_TIMEOUT = 45 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("faults in a real kernel build", () => {
  let upstream: UpstreamFixture;
  let workbench: string;
  let env: Record<string, string>;
  let inputs: Record<string, unknown>;
  let last: KernelManifest | undefined;

  beforeAll(async () => {
    upstream = await linuxUpstream();
    workbench = await mkdtemp(join(tmpdir(), "kdevflow-faults-"));
    mkdirSync(join(workbench, "run"), { mode: 0o700 });
    mkdirSync(join(workbench, "tmp"));
    // The slot lock and run folders of these runs stay in this Workbench.
    env = { ...(await kernelTestEnv(workbench)), XDG_RUNTIME_DIR: join(workbench, "run"), TMPDIR: join(workbench, "tmp") };
    await initLinuxWorkbench(workbench, upstream, env);
    inputs = { git_ref: upstream.tag, ...TEST_KERNEL_INPUTS };
  });

  afterAll(async () => {
    if (workbench) await rm(workbench, { recursive: true, force: true });
  });

  /** Start a build in a process group of its own and return once make has been compiling for a while. */
  async function startCompiling(over: Record<string, unknown>) {
    const dir = await mkdtemp(join(workbench, "input-"));
    const file = join(dir, "input.json");
    await writeFile(file, JSON.stringify({ ...inputs, ...over }));
    const child = spawn(KDEVFLOW, ["run", "f/kernel/build", "--input", file], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdout!.resume();
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const pid = child.pid!;
    guardGroup(pid); // if this test process dies, the build it started dies with it
    const marker = lineageMarker(pid, procStat(pid)!.start);
    const compiling = () => /\[progress +\d+%\] compile \d+\/\d+/.test(stderr.slice(stderr.indexOf("==> step compile")));
    for (let i = 0; i < 30_000 && stderr.includes("==> step compile") === false; i++) {
      if (child.exitCode !== null) throw new Error(`the build ended before compiling:\n${stderr.slice(-3000)}`);
      await sleep(50);
    }
    for (let i = 0; i < 6000 && !compiling(); i++) await sleep(50);
    await sleep(3000); // well into the compile
    const processes = findMarked(marker);
    return { pid, marker, processes, exited, stderr: () => stderr };
  }

  async function rerunAndBoot(): Promise<{ ms: number; stderr: string }> {
    const res = await runFlowCli("f/kernel/build", { ...inputs, reuse: false }, env);
    expect(res.exitCode, res.stderr.split("\n").slice(-40).join("\n")).toBe(0);
    const manifest = KernelManifest.parse(res.result);
    last = manifest;
    const scratch = await mkdtemp(join(workbench, "boot-"));
    const initrd = join(scratch, "initrd.gz");
    await makeInitramfs(initrd, { modulesDir: manifest.modules_dir, kernelrelease: manifest.kernelrelease });
    const boot = await bootTcg(manifest.image, initrd);
    expect(boot.booted, boot.console.slice(-2000)).toBe(true);
    expect(boot.uname).toBe(manifest.kernelrelease);
    await rm(scratch, { recursive: true, force: true });
    return { ms: res.ms, stderr: res.stderr };
  }

  it.each([
    ["SIGKILL", null],
    ["SIGHUP", 129],
    ["SIGTERM", 143],
  ] as const)("%s of the run's process group while make compiles: nothing of it is alive a second later, and an immediate rerun passes and boots", { timeout: BUILD_TIMEOUT }, async (sig, code) => {
    // Each killed build starts from an empty build dir so that make really is compiling.
    const build = await startCompiling({ reuse: false, wipe_build: true });
    const makes = build.processes.filter((p) => p.comm === "make");
    expect(makes.length, build.stderr().slice(-2000)).toBeGreaterThan(0);
    process.kill(-build.pid, sig);
    const killedAt = performance.now();
    let goneMs = -1;
    const all = new Map<number, ProcStat>(build.processes.map((p) => [p.pid, p]));
    while (performance.now() - killedAt < 1000) {
      const now = findMarked(build.marker);
      for (const p of now) all.set(p.pid, p);
      if (now.length === 0 && [...all.values()].every((p) => !isRunning(p.pid, p.start))) {
        goneMs = performance.now() - killedAt;
        break;
      }
      await sleep(10);
    }
    await sleep(Math.max(0, 1000 - (performance.now() - killedAt)));
    const alive = [...all.values()].filter((p) => isRunning(p.pid, p.start));
    expect(alive.map((p) => `${p.comm} ${p.pid}`)).toEqual([]);
    expect(findMarked(build.marker)).toEqual([]);
    const exit = await build.exited;
    if (code !== null) expect(exit).toBe(code);
    console.log(`FIGURE ${sig}: ${build.processes.length} processes (${makes.length} make) gone ${goneMs.toFixed(0)} ms after the kill`);

    const rerun = await rerunAndBoot();
    if (sig === "SIGKILL") expect(rerun.stderr).toContain(`lock: taking over the stale lock on worker slot 0 (${join(workbench, "workers", "0")}): pid ${build.pid} is gone and nothing it started is still running`);
    else expect(rerun.stderr).not.toContain("stale lock");
    expect(rerun.stderr).not.toMatch(/fixdep: error|Error 1[24][0-9]/);
    // The killed compile left its stamp: the rerun rebuilt what kbuild does not guard
    // (objtool under build/tools), which a kill there leaves half-written.
    expect(rerun.stderr).toMatch(new RegExp(`compile: the last compile in this build dir did not finish \\(killed or failed\\); removing ${join(workbench, "workers", "0")}/[^ ]+/build/tools,`));
    console.log(`FIGURE ${sig}: the rerun passed in ${(rerun.ms / 1000).toFixed(1)} s and booted`);
  });

  describe("the Store index", () => {
    /** The build the fault tests published (or, when run alone, one built now). */
    const publishedBuild = async () => last ?? (last = (await buildKernel(inputs, env)).manifest);
    const index = () => join(workbench, "system", "store-index");
    const cutInHalf = async (path: string) => {
      const text = await readFile(path, "utf8");
      await writeFile(path, text.slice(0, Math.floor(text.length / 2)));
    };

    it.each([
      ["the published manifest <key>.json", (m: KernelManifest) => join(index(), `${m.store_key}.json`), (m: KernelManifest) => `store: ${m.store_key}.json does not parse; repaired from the manifest in ${m.store_path}`],
      [
        "the identity entry by-identity/kernel-<identity>.json",
        (m: KernelManifest) => join(index(), "by-identity", `kernel-${m.identity}.json`),
        (m: KernelManifest) => `store: by-identity/kernel-${m.identity}.json does not parse; repaired from the manifest in ${m.store_path}`,
      ],
    ])("%s cut in half: the next run says so in one sentence, repairs it and reuses the build", { timeout: BUILD_TIMEOUT }, async (_what, file, sentence) => {
      const published = await publishedBuild();
      await cutInHalf(file(published));
      const again = await buildKernel(inputs, env);
      expect(again.manifest.reused).toBe(true);
      expect(again.manifest.store_path).toBe(published.store_path);
      expect(again.stderr.split("\n").filter((l) => l.includes("store: "))).toEqual([`  ${sentence(published)}`]);
      for (const step of ["compile", "install", "publish"]) expect(again.stderr).toContain(`<== step ${step}: skipped`);
      JSON.parse(await readFile(file(published), "utf8"));
      console.log(`FIGURE index repair (${_what}): the reusing run took ${(again.ms / 1000).toFixed(1)} s`);
    });

    it("store verify changes nothing on a clean index and names each repair on a damaged one", { timeout: BUILD_TIMEOUT }, async () => {
      const m = await publishedBuild();
      const verify = async (dry = false) => {
        const res = await run([join(REPO_ROOT, "node_modules/.bin/bun"), join(REPO_ROOT, "f/common/store_verify.ts"), ...(dry ? ["--dry-run"] : [])], { cwd: REPO_ROOT, env, capture: true, quiet: true, allowFailure: true });
        return { code: res.exitCode, lines: res.stdout.trim().split("\n") };
      };
      const snapshot = async () => {
        const out: Record<string, string> = {};
        for (const sub of ["", "by-identity"]) {
          for (const name of await readdir(join(index(), sub))) {
            const p = join(index(), sub, name);
            const st = await stat(p).catch(() => null);
            out[p] = st?.isDirectory() ? "dir" : `${st?.mtimeMs} ${await readlink(p).catch(() => readFile(p, "utf8"))}`;
          }
        }
        return out;
      };
      const before = await snapshot();
      const clean = await verify();
      expect(clean.code).toBe(0);
      expect(clean.lines).toEqual([`store verify: 1 entry checked in ${join(workbench, "system")}/store-index; nothing to repair`]);
      expect(await snapshot()).toEqual(before);

      await cutInHalf(join(index(), `${m.store_key}.json`));
      await cutInHalf(join(index(), "by-identity", `kernel-${m.identity}.json`));
      const gone = `/nix/store/${"2".repeat(32)}-kernel-gone`;
      await symlink(gone, join(index(), "kernel-gone"));
      const dry = await verify(true);
      expect(dry.code).toBe(1);
      const damaged = await verify();
      expect(damaged.code).toBe(0);
      expect(damaged.lines).toEqual([
        `store: by-identity/kernel-${m.identity}.json does not parse; ${m.store_key}.json does not parse; repaired from the manifest in ${m.store_path}`,
        `store: the link kernel-gone points at ${gone}, which is gone; removed it and kernel-gone.json`,
        `store verify: 1 entry checked in ${join(workbench, "system")}/store-index; 2 repaired`,
      ]);
      expect(dry.lines.slice(0, 2)).toEqual(damaged.lines.slice(0, 2).map((l) => l.replace(/^store: /, "store (dry run, nothing changed): ")));
      expect((await verify()).lines).toEqual(clean.lines);
    });
  });
});
