// Kernel builds for tests: run f/kernel/build through the local engine (./kdevflow run)
// against a Workbench whose linux upstream is the Debian-source fixture, inside the
// test dev shell, with a ccache kept outside the checkout so reruns stay warm.
//
// testKernel() gives the small bootable x86_64 test kernel (tinyconfig + the project's
// tiny-guest fragment: serial console, initramfs, virtio, virtiofs, 9p, ACPI power-off,
// modules with one module built; + tests/fixtures/kernel/test-guest.config: the virtio
// console hvc0, a virtio NIC and what the test guest's sshd needs) from a persistent test Workbench under
// $KDEVFLOW_FIXTURES/kernel-workbench: the first call builds it (a few minutes on two
// cores), later calls, in this run or the next, reuse it from the Store in seconds.

import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { withLock } from "../../f/common/lock.ts";
import { KernelManifest } from "../../f/common/manifest.ts";
import { capture, run } from "../../f/common/run.ts";
import { fixturesRoot, linuxUpstream, type UpstreamFixture } from "./fixtures.ts";
import { testFlakes } from "./flakes.ts";
import { setupNixEnv } from "./nix.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
export const KDEVFLOW = join(REPO_ROOT, "kdevflow");

/** The inputs of the test kernel: small, bootable, with one module. */
export const TEST_KERNEL_INPUTS = {
  config_method: "fragments",
  make_target: "tinyconfig",
  // tiny-guest, and what the test library's guest adds: hvc0, a NIC and sshd's needs.
  fragments: ["tiny-guest", join(REPO_ROOT, "tests/fixtures/kernel/test-guest.config")],
  compile_commands: true,
} as const;

/** The ccache the tests share, outside any temporary Workbench (KDEVFLOW_CCACHE_DIR wins). */
export function testCcacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.KDEVFLOW_CCACHE_DIR || join(fixturesRoot(env), "ccache");
}

/** The environment a kernel flow runs with in tests: this Workbench, offline Nix, test dev shell. */
export async function kernelTestEnv(workbench: string): Promise<Record<string, string>> {
  const nix = await setupNixEnv();
  const flakes = await testFlakes();
  return {
    ...nix,
    KDEVFLOW_WORKBENCH: workbench,
    SYSTEM_DIR: join(workbench, "system"),
    WORKERS_DIR: join(workbench, "workers"),
    WORKER_INDEX: "0",
    KDEVFLOW_NIXOS_FLAKE: flakes.devshell,
    KDEVFLOW_CCACHE_DIR: testCcacheDir(),
  };
}

export interface FlowRun {
  exitCode: number;
  result: unknown;
  stderr: string;
  ms: number;
}

/**
 * Run a flow with ./kdevflow run, inputs from a JSON file; stdout is the result. With
 * `api`, as `wmill flow run` / the API would: nothing filled, nothing checked by a form.
 */
export async function runFlowCli(flow: string, inputs: Record<string, unknown>, env: Record<string, string>, opts: { api?: boolean } = {}): Promise<FlowRun> {
  const dir = await mkdtemp(join(tmpdir(), "kdevflow-input-"));
  try {
    const file = join(dir, "input.json");
    await writeFile(file, JSON.stringify(inputs));
    const started = performance.now();
    const res = await run([KDEVFLOW, "run", ...(opts.api ? ["--api"] : []), flow, "--input", file], { env, capture: true, quiet: true, allowFailure: true, tailLines: 80 });
    const ms = performance.now() - started;
    let result: unknown = null;
    if (res.exitCode === 0) result = JSON.parse(res.stdout);
    return { exitCode: res.exitCode, result, stderr: res.stderr, ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Provision the Workbench's linux mirror and Bare from an upstream (f/workbench/init). */
export async function initLinuxWorkbench(workbench: string, upstream: UpstreamFixture, env: Record<string, string>): Promise<void> {
  const res = await runFlowCli("f/workbench/init", { sources: [{ name: "linux", url: upstream.url }] }, env);
  if (res.exitCode !== 0) throw new Error(`f/workbench/init failed (exit ${res.exitCode}):\n${res.stderr.split("\n").slice(-30).join("\n")}`);
}

/** Run f/kernel/build; throws with the log's tail when it fails. */
export async function buildKernel(inputs: Record<string, unknown>, env: Record<string, string>): Promise<{ manifest: KernelManifest; ms: number; stderr: string }> {
  const res = await runFlowCli("f/kernel/build", inputs, env);
  if (res.exitCode !== 0) throw new Error(`f/kernel/build failed (exit ${res.exitCode}):\n${res.stderr.split("\n").slice(-40).join("\n")}`);
  return { manifest: KernelManifest.parse(res.result), ms: res.ms, stderr: res.stderr };
}

/** The release a bzImage reports (`uname -r`): the first word of its version string. */
export function bzImageRelease(image: Buffer): string {
  if (image.toString("latin1", 0x202, 0x206) !== "HdrS") throw new Error("not a bzImage (no HdrS boot header)");
  const at = image.readUInt16LE(0x20e) + 0x200;
  const end = image.indexOf(0, at);
  return image.toString("latin1", at, end).split(" ")[0]!;
}

export function testKernelWorkbench(): string {
  return join(fixturesRoot(), "kernel-workbench");
}

/**
 * Build (or reuse from the Store) a kernel from `upstream`'s tag in a persistent
 * Workbench under the fixtures folder, taking turns with other test files through a
 * lock: the Workbench is provisioned on first use, and fetched again when the upstream
 * fixture was rebuilt since (its tag moved).
 */
export async function kernelInWorkbench(name: string, upstream: UpstreamFixture, inputs: Record<string, unknown>): Promise<KernelManifest> {
  const workbench = join(fixturesRoot(), name);
  await mkdir(workbench, { recursive: true });
  const env = await kernelTestEnv(workbench);
  return withLock(join(fixturesRoot(), `${name}.lock`), { what: `the ${name} Workbench` }, async () => {
    const bare = join(workbench, "system", "bare", "linux.git");
    if (!existsSync(bare)) await initLinuxWorkbench(workbench, upstream, env);
    const want = await capture(["git", "--git-dir", upstream.dir, "rev-parse", `${upstream.tag}^{commit}`]);
    const have = (await run(["git", "--git-dir", bare, "rev-parse", "--verify", "-q", `${upstream.tag}^{commit}`], { capture: true, quiet: true, allowFailure: true })).stdout.trim();
    if (have !== want) {
      const res = await runFlowCli("f/workbench/fetch", { sources: [{ name: "linux", url: upstream.url }] }, env);
      if (res.exitCode !== 0) throw new Error(`f/workbench/fetch failed (exit ${res.exitCode}):\n${res.stderr.split("\n").slice(-30).join("\n")}`);
    }
    const { manifest } = await buildKernel({ git_ref: upstream.tag, ...inputs }, env);
    return manifest;
  });
}

let cached: Promise<KernelManifest> | undefined;

/**
 * The small bootable test kernel, built (or reused from the Store) in the persistent
 * test Workbench. Safe to call from several test files at once: they take turns.
 */
export function testKernel(): Promise<KernelManifest> {
  cached ??= (async () => kernelInWorkbench("kernel-workbench", await linuxUpstream(), TEST_KERNEL_INPUTS))();
  cached.catch(() => (cached = undefined));
  return cached;
}

// ---------------------------------------------------------------------------------
// Booting a test kernel: a busybox initramfs whose /init prints what the test checks
// (uname -r, which modules loaded, a marker) and powers the guest off, built with cpio
// from a folder (no shell), and a QEMU TCG boot with the serial console captured.

export const BOOT_MARKER = "KDEVFLOW-TEST-BOOTED";

/**
 * The /init script: prints `KDEVFLOW-UNAME=<uname -r>`, loads each module given (and
 * says so when it loaded), says whether /proc/config.gz exists (the test kernel's
 * module provides it), prints the marker and powers off.
 */
export function initScript(modules: readonly string[]): string {
  const loads = modules.map((m) => `/bin/busybox insmod ${m} && echo "KDEVFLOW-MODULE-LOADED=${m}"`);
  return [
    "#!/bin/busybox sh",
    "/bin/busybox mount -t proc proc /proc",
    "/bin/busybox mount -t sysfs sysfs /sys",
    'echo "KDEVFLOW-UNAME=$(/bin/busybox uname -r)"',
    ...loads,
    "[ -e /proc/config.gz ] && echo KDEVFLOW-PROC-CONFIG-GZ",
    `echo ${BOOT_MARKER}`,
    "/bin/busybox poweroff -f",
    "",
  ].join("\n");
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

/**
 * Make a gzip'd newc initramfs at `out` with busybox, and the kernel's modules tree
 * (when given) under /lib/modules/<release>; /init loads the modules named in `load`
 * (file names without .ko; default: configs, the test kernel's module).
 */
export async function makeInitramfs(out: string, opts: { modulesDir?: string | null; kernelrelease?: string; load?: string[] } = {}): Promise<{ modules: string[] }> {
  const load = new Set((opts.load ?? ["configs"]).map((n) => `${n}.ko`));
  const root = await mkdtemp(join(tmpdir(), "kdevflow-initramfs-"));
  try {
    for (const d of ["bin", "proc", "sys", "dev", "lib/modules"]) await mkdir(join(root, d), { recursive: true });
    await copyFile("/bin/busybox", join(root, "bin", "busybox"));
    await chmod(join(root, "bin", "busybox"), 0o755);
    await symlink("busybox", join(root, "bin", "sh"));
    const modules: string[] = [];
    if (opts.modulesDir && opts.kernelrelease) {
      const dest = join(root, "lib", "modules", opts.kernelrelease);
      await run(["cp", "-r", "--no-preserve=mode", opts.modulesDir, dest], { quiet: true });
      for (const f of await listFiles(dest)) if (load.has(f.split("/").at(-1)!)) modules.push(`/${relative(root, f)}`);
    }
    await writeFile(join(root, "init"), initScript(modules), { mode: 0o755 });
    const files = (await run(["find", ".", "-mindepth", "1"], { cwd: root, capture: true, quiet: true })).stdout;
    const cpio = `${out}.cpio`;
    await run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0", "-O", cpio], { cwd: root, input: files, quiet: true });
    await run(["gzip", "-9", "-n", "-f", cpio], { quiet: true });
    await run(["mv", "-f", `${cpio}.gz`, out], { quiet: true });
    return { modules };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export interface BootResult {
  exitCode: number;
  console: string;
  uname: string | null;
  booted: boolean;
  modulesLoaded: string[];
  /** /proc/config.gz existed after loading the modules. */
  procConfig: boolean;
}

/** Boot `image` with `initrd` under QEMU TCG, serial console on stdout, and read what /init printed. */
export async function bootTcg(image: string, initrd: string, timeoutMs = 120_000): Promise<BootResult> {
  const res = await run(
    ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-kernel", image, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet"],
    { capture: true, quiet: true, allowFailure: true, timeoutMs },
  );
  const text = `${res.stdout}${res.stderr}`.replace(/\r/g, "");
  return {
    exitCode: res.exitCode,
    console: text,
    uname: /KDEVFLOW-UNAME=(\S+)/.exec(text)?.[1] ?? null,
    booted: text.includes(BOOT_MARKER),
    modulesLoaded: [...text.matchAll(/KDEVFLOW-MODULE-LOADED=(\S+)/g)].map((m) => m[1]!),
    procConfig: text.includes("KDEVFLOW-PROC-CONFIG-GZ"),
  };
}

// `bun tests/harness/kernel.ts` builds (or finds) the test kernel and prints its manifest.
if ((import.meta as { main?: boolean }).main) {
  console.log(JSON.stringify(await testKernel(), null, 2));
}
