// f/qemu/build end to end with real components: a qemu Bare provisioned by
// f/workbench/init from the Debian QEMU source (tests/harness/fixtures.ts), real
// configure and make inside `nix develop` of the test library flake, a real Nix Store
// publish, the real kdevflow engine running every step as its own Bun process, and the
// built binary started for real. ccache lives outside the temporary Workbench
// (KDEVFLOW_CCACHE_DIR), so a second CI run of this file compiles from the cache.

import { spawn } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devshellSpec } from "../../f/common/devshell/nix_develop.ts";
import { workbenchLayout } from "../../f/common/layout.ts";
import { QemuManifest } from "../../f/common/manifest.ts";
import { nixArgv, nixSystem } from "../../f/common/nix.ts";
import { capture, run as run0 } from "../../f/common/run.ts";
import { main as checkInputs } from "../../f/pipeline/check_inputs.ts";
import { main as identify } from "../../f/pipeline/identify.ts";
import { main as prepareWorktree } from "../../f/workbench/prepare_worktree.ts";
import { nixPackagePlan } from "../../f/qemu/build/nix_plan.ts";
import { qemuUpstream, type UpstreamFixture } from "../harness/fixtures.ts";
import { BOOT_MARKER, makeInitramfs, testCcacheDir, testKernel } from "../harness/kernel.ts";
import { testFlakes } from "../harness/flakes.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { kdevflow, type CliRun } from "./engine-helpers.ts";

const REPO = resolve(import.meta.dirname, "../..");
/** This run's copy of the test library (tests/harness/flakes.ts). */
let FLAKE: string;

let fixture: UpstreamFixture;
let wb: string;
let env: Record<string, string>;

function run(flow: string, sets: Record<string, unknown>): Promise<CliRun> {
  const args = ["run", flow];
  for (const [k, v] of Object.entries(sets)) args.push("--set", `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return kdevflow(args, { workspace: null, env });
}

function ok(r: CliRun): QemuManifest {
  if (r.code !== 0) throw new Error(`flow failed (exit ${r.code}):\n${r.stderr.split("\n").slice(-60).join("\n")}`);
  return QemuManifest.parse(JSON.parse(r.stdout));
}

/** The last error sentence a failed run printed. */
function failure(r: CliRun): string {
  expect(r.code, r.stderr.slice(-3000)).not.toBe(0);
  return r.stderr;
}

const worktree = () => join(wb, "workers", "0", "qemu");

beforeAll(async () => {
  const nixEnv = await setupNixEnv();
  FLAKE = (await testFlakes()).library;
  fixture = await qemuUpstream();
  wb = await mkdtemp(join(tmpdir(), "kdevflow-qemu-build-"));
  env = {
    ...nixEnv,
    KDEVFLOW_WORKBENCH: wb,
    SYSTEM_DIR: join(wb, "system"),
    WORKERS_DIR: join(wb, "workers"),
    WORKER_INDEX: "0",
    KDEVFLOW_CCACHE_DIR: testCcacheDir(),
    KDEVFLOW_NIXOS_FLAKE: FLAKE,
  };
  const init = await run("f/workbench/init", { sources: [{ name: "qemu", url: fixture.url, refresh_minutes: 360 }] });
  if (init.code !== 0) throw new Error(`f/workbench/init failed:\n${init.stderr}`);
}, 600_000);

afterAll(async () => {
  if (wb) await rm(wb, { recursive: true, force: true });
});

describe("bad input fails in one sentence before anything is built", () => {
  it("a label over 40 characters, before any step runs", async () => {
    const r = await run("f/qemu/build", { qemu_ref: fixture.tag, custom_label: true, label: "x".repeat(41) });
    expect(r.code).toBe(2);
    expect(failure(r)).toMatch(/label: expected at most 40 characters/);
    expect(existsSync(worktree())).toBe(false);
  });

  it("a relative library path, before any step runs", async () => {
    const r = await run("f/qemu/build", { qemu_ref: fixture.tag, nixos_flake: "relative/flake" });
    expect(r.code).toBe(2);
    expect(failure(r)).toMatch(/nixos_flake: expected a flake reference .*, got "relative\/flake"\./);
    expect(existsSync(worktree())).toBe(false);
  });

  it("a ref that is not in the Bare names the close ones", async () => {
    const r = await run("f/qemu/build", { qemu_ref: "v7.2.99" });
    expect(r.code).toBe(2);
    expect(failure(r)).toMatch(/qemu_ref: expected a tag, branch, mirror\/<branch> or commit id in the qemu Bare.*v7\.2\.22.*, got "v7\.2\.99"\./);
    expect(existsSync(worktree())).toBe(false);
  });

  it("a target the tree does not have lists the valid ones, before the worktree is synced", async () => {
    // aarch64-bsd-user is a target of later QEMUs (so the form offers it), not of 7.2.
    const r = await run("f/qemu/build", { qemu_ref: fixture.tag, target_list: ["x86_64-softmmu", "aarch64-bsd-user"] });
    expect(r.code).toBe(2);
    const err = failure(r);
    expect(err).toMatch(/target_list: expected targets this tree's configs\/targets\/ has: "aarch64-linux-user", .* or one of \d+ more, got "aarch64-bsd-user"\./);
    expect(err.split("\n").find((l) => l.includes("target_list: expected"))!.length).toBeLessThan(400);
    expect(existsSync(worktree())).toBe(false);
  });

  it("configure_args with shell syntax reach configure as literal arguments and nothing runs", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "kdevflow-qemu-sentinel-"));
    const sentinel = join(scratch, "x");
    await mkdir(sentinel);
    await writeFile(join(sentinel, "keep"), "still here\n");
    const pwned = join(scratch, "pwned");
    try {
      const r = await run("f/qemu/build", { qemu_ref: fixture.tag, configure_args: `--foo; rm -rf ${sentinel} $(touch ${pwned}) \`touch ${pwned}\`` });
      expect(r.code).toBe(2);
      const err = failure(r);
      // The argument vector configure got, as the step printed it: each word literal.
      expect(err).toContain(`'--foo;' rm -rf ${sentinel} '$(touch' '${pwned})' '\`touch'`);
      expect(err).toMatch(/ERROR: unknown option --foo;/);
      expect(err).toMatch(/configure_args: expected options QEMU 7\.2\.22's configure knows \(it rejected --foo;/);
      expect(readFileSync(join(sentinel, "keep"), "utf8")).toBe("still here\n");
      expect(existsSync(pwned)).toBe(false);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

describe("the make method", () => {
  let first: QemuManifest;

  it("builds x86_64-softmmu into a manifest that validates, and publishes it", async () => {
    const r = await run("f/qemu/build", { qemu_ref: fixture.tag });
    first = ok(r);
    expect(first).toMatchObject({ kind: "qemu", method: "make", version: fixture.version, target_list: "x86_64-softmmu", ref: fixture.tag, label: "vanilla", reused: false });
    expect(first.store_key).toBe(`qemu-${fixture.version}-vanilla-${first.identity}`);
    expect(first.commit).toBe(await capture(["git", "-C", fixture.dir, "rev-parse", `${fixture.tag}^{commit}`]));
    // Built with the make steps (not reused), installed under the identity's prefix.
    expect(r.stderr).toContain("--command make -j");
    expect(r.stderr).toContain("--command make install");
    const prefix = join(worktree(), "destdir", `${fixture.version}-vanilla-${first.identity}`);
    expect(existsSync(join(prefix, "bin", "qemu-system-x86_64"))).toBe(true);
    // The manifest points into the Store, where the install tree was published.
    expect(first.store_path).toMatch(/^\/nix\/store\/[a-z0-9]{32}-qemu-7\.2\.22-vanilla-[0-9a-f]{12}$/);
    expect(first.destdir).toBe(first.store_path);
    expect(first.qemu_binary).toBe(`${first.store_path}/bin/qemu-system-x86_64`);
    expect(first.qemu_img).toBe(`${first.store_path}/bin/qemu-img`);
    const link = join(wb, "system", "store-index", first.store_key);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(first.store_path);
    // result.json in build/, the same manifest; compile_commands.json in the source root.
    expect(JSON.parse(readFileSync(join(worktree(), "build", "result.json"), "utf8"))).toEqual(first);
    expect(existsSync(join(worktree(), "compile_commands.json"))).toBe(true);
  }, 3_600_000);

  it("qemu_binary --version reports the source's version", async () => {
    const out = await capture([first.qemu_binary, "--version"]);
    expect(out).toMatch(new RegExp(`^QEMU emulator version ${fixture.version.replace(/\./g, "\\.")}\\b`));
  });

  it("finds its firmware through firmware_dirs and runs SeaBIOS", async () => {
    // Debian's source builds no firmware (its pc-bios/ is skipped), so the install has
    // no PC BIOS and the host's SeaBIOS and iPXE folders follow the install's data dir.
    expect(first.firmware_dirs[0]).toBe(`${first.store_path}/share/qemu`);
    expect(first.firmware_dirs).toContain("/usr/share/seabios");
    const scratch = await mkdtemp(join(tmpdir(), "kdevflow-qemu-boot-"));
    const debugcon = join(scratch, "debugcon.log");
    try {
      const banner = await runUntil(
        [
          first.qemu_binary,
          ...first.firmware_dirs.flatMap((d) => ["-L", d]),
          "-accel", "tcg", "-nodefaults", "-display", "none", "-m", "64",
          "-chardev", `file,id=dbg,path=${debugcon}`, "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
        ],
        () => (existsSync(debugcon) ? readFileSync(debugcon, "utf8") : ""),
        /SeaBIOS \(version [^)]+\)/,
        60_000,
      );
      expect(banner).toMatch(/SeaBIOS \(version/);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 120_000);

  it("boots the test kernel to its marker", async () => {
    const kernel = await testKernel();
    const scratch = await mkdtemp(join(tmpdir(), "kdevflow-qemu-kernel-"));
    try {
      const initrd = join(scratch, "initrd.gz");
      await makeInitramfs(initrd);
      const res = await run0(
        [
          first.qemu_binary,
          ...first.firmware_dirs.flatMap((d) => ["-L", d]),
          "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot",
          "-kernel", kernel.image, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet",
        ],
        { capture: true, quiet: true, allowFailure: true, timeoutMs: 180_000 },
      );
      const text = `${res.stdout}${res.stderr}`;
      expect(text, text.slice(-2000)).toContain(BOOT_MARKER);
      expect(text).toContain(`KDEVFLOW-UNAME=${kernel.kernelrelease}`);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 1_800_000);

  it("the same inputs again reuse the published build without configure, compile or install", async () => {
    const r = await run("f/qemu/build", { qemu_ref: fixture.tag });
    const again = ok(r);
    expect(again.reused).toBe(true);
    expect({ ...again, reused: false, built_at: "" }).toEqual({ ...first, built_at: "" });
    expect(r.stderr).toContain(`reuse: identity ${first.identity} is published`);
    expect(r.stderr).not.toContain("/configure --target-list");
    expect(r.stderr).not.toContain("--command make");
  }, 600_000);

  it("run as the API runs it (nothing filled), with only qemu_ref, is the same build", async () => {
    const r = await kdevflow(["run", "--api", "f/qemu/build", "--set", `qemu_ref=${fixture.tag}`], { workspace: null, env });
    const again = ok(r);
    expect(again.identity).toBe(first.identity);
    expect(again.reused).toBe(true);
  }, 600_000);

  it("a changed label keeps the identity, so the build is reused", async () => {
    const r = await run("f/qemu/build", { qemu_ref: fixture.tag, custom_label: true, label: "My experiment" });
    const labelled = ok(r);
    expect(labelled.identity).toBe(first.identity);
    expect(labelled.reused).toBe(true);
    expect(r.stderr).toContain("label my-experiment");
  }, 600_000);

  it("changed configure_args, target_list or compiler change the identity; a label does not", async () => {
    // The flow's own steps up to identify, with reuse off so nothing comes from the Store.
    Object.assign(process.env, env);
    const id = async (over: Record<string, unknown>) => {
      const checked = await checkInputs("qemu", { qemu_ref: fixture.tag, ...over, reuse: false });
      const wt = await prepareWorktree("qemu", checked.source!.commit);
      return (await identify("qemu", checked, wt, null)).identity;
    };
    expect(await id({})).toBe(first.identity);
    expect(await id({ custom_label: true, label: "another-name" })).toBe(first.identity);
    const changed = [await id({ configure_args: "--disable-werror" }), await id({ target_list: ["aarch64-softmmu", "x86_64-softmmu"] }), await id({ compiler: "clang" })];
    for (const other of changed) expect(other).not.toBe(first.identity);
    expect(new Set(changed).size).toBe(3);
  }, 120_000);

  it("an unreachable meson wrap is not fatal; a warning turned into an error says so and suggests --disable-werror or a newer qemu_ref", async () => {
    // A developer branch in the Bare (refs/heads/* is theirs) with one new warning.
    const bare = join(wb, "system", "bare", "qemu.git");
    const scratch = await mkdtemp(join(tmpdir(), "kdevflow-qemu-werror-"));
    try {
      const clone = join(scratch, "qemu");
      const git = (...a: string[]) => capture(["git", "-C", clone, ...a], { env: { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t.invalid" } });
      await capture(["git", "clone", "--quiet", "--shared", "--no-checkout", bare, clone]);
      await git("checkout", "--quiet", fixture.tag);
      const file = join(clone, "util", "cutils.c");
      await writeFile(file, `${readFileSync(file, "utf8")}\nint kdevflow_werror_demo(void);\nint kdevflow_werror_demo(void)\n{\n    int unused;\n    return 0;\n}\n`);
      // And a meson wrap whose download cannot succeed here: configure must go on.
      await writeFile(
        join(clone, "subprojects", "kdevflow-offline.wrap"),
        "[wrap-file]\ndirectory = kdevflow-offline\nsource_url = http://127.0.0.1:9/kdevflow-offline.tar.gz\nsource_filename = kdevflow-offline.tar.gz\nsource_hash = 0000000000000000000000000000000000000000000000000000000000000000\n",
      );
      await git("add", "subprojects/kdevflow-offline.wrap");
      await git("commit", "--quiet", "-am", "Add a warning and an unreachable wrap");
      await git("push", "--quiet", bare, "HEAD:refs/heads/werror-demo");
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    const r = await run("f/qemu/build", { qemu_ref: "werror-demo" });
    expect(r.code).toBe(1);
    const err = failure(r);
    expect(err).toContain("--command meson subprojects download");
    expect(err).toContain("meson subprojects download failed (offline?); going on with the subprojects already in the tree");
    expect(err).toMatch(/\[-Werror=unused-variable\]/);
    expect(err).toMatch(/the QEMU build of werror-demo failed on a compiler warning turned into an error \(-Werror\), .* Pass configure_args: --disable-werror, or build a newer qemu_ref\./);
  }, 1_800_000);
});

describe("the Nix-package method", () => {
  it("returns a manifest that passes the same schema, with qemu_binary in the Nix store", async () => {
    const r = await run("f/qemu/build", { method: "nix" });
    const m = ok(r);
    expect(m.method).toBe("nix");
    expect(m.qemu_binary).toMatch(/^\/nix\/store\/[a-z0-9]{32}-qemu-[^/]+\/bin\/qemu-system-x86_64$/);
    expect(m.store_path).toBe(m.destdir);
    expect(m.store_key).toBe(`qemu-${m.version}-nixpkgs-${m.identity}`);
    expect(await capture([m.qemu_binary, "--version"])).toContain(`version ${m.version}`);
    expect(readlinkSync(join(wb, "system", "store-index", m.store_key))).toBe(m.store_path);
    expect(JSON.parse(readFileSync(join(workbenchLayout(env).slotDir, "qemu-nix", "result.json"), "utf8"))).toEqual(m);
    const again = ok(await run("f/qemu/build", { method: "nix" }));
    expect(again.reused).toBe(true);
    expect(again.identity).toBe(m.identity);
  }, 600_000);

  it("overrides the package's source to qemu_ref: a fetchGit of the commit from the Bare", async () => {
    const commit = await capture(["git", "-C", fixture.dir, "rev-parse", `${fixture.tag}^{commit}`]);
    const plan = nixPackagePlan({ source: "qemu_ref", flake: FLAKE, system: nixSystem(), bare: join(wb, "system", "bare", "qemu.git"), commit, version: fixture.version });
    const flakePlan = nixPackagePlan({ source: "flake", flake: FLAKE, system: nixSystem() });
    const drv = await capture(nixArgv([...plan.evalArgs, ...plan.drvPathArgs]));
    const flakeDrv = await capture(nixArgv([...flakePlan.evalArgs, ...flakePlan.drvPathArgs]));
    expect(drv).toMatch(new RegExp(`^/nix/store/[a-z0-9]{32}-qemu-${fixture.version.replace(/\./g, "\\.")}\\.drv$`));
    expect(drv).not.toBe(flakeDrv);
    // The overridden src is the commit's tree, fetched by Nix from the Bare.
    const src = await capture(nixArgv([...plan.evalArgs, "--expr", `(${plan.expr}).src.outPath`]));
    expect(readFileSync(join(src, "VERSION"), "utf8").trim()).toBe(fixture.version);
  }, 300_000);
});

/** Start argv, wait until read() matches `re` (or time out), stop the process. */
async function runUntil(argv: string[], read: () => string, re: RegExp, timeoutMs: number): Promise<string> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const started = Date.now();
  try {
    for (;;) {
      const text = read();
      const m = re.exec(text);
      if (m) return m[0];
      if (child.exitCode !== null) throw new Error(`${argv[0]} exited with ${child.exitCode} before printing ${re}:\n${stderr}`);
      if (Date.now() - started > timeoutMs) throw new Error(`no ${re} after ${timeoutMs} ms; got:\n${text}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  }
}
