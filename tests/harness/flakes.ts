// The test flakes of one test run: private copies of tests/fixtures/nixos-flake (the
// test library), tests/fixtures/nixpkgs (its stand-in nixpkgs, completed with nixpkgs'
// real `lib` and host.json, where the host keeps the sshd its guests run) and
// tests/fixtures/devshell-flake, each holding a marker no earlier run had. So:
//
//  - nothing a per-VM config locks has a relative path: the library names its nixpkgs
//    by the copy's absolute path, written here, and is locked here;
//  - a flake source found in the Nix store is this run's: a path that exists only
//    because an earlier run added it is never found, so the suite cannot pass on a
//    machine where it would fail on an empty store.
//
// They are made once per run: vitest's global setup (global-setup.ts) names the run's
// folder in KDEVFLOW_TEST_RUN_DIR and removes it at the end; the first test process
// that asks builds the copies under a lock, the others reuse them. Without that
// variable (a benchmark, a script) the copies are made for this process alone and
// removed when it exits.

import { randomUUID } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { withLock } from "../../f/common/lock.ts";
import { nixArgv } from "../../f/common/nix.ts";
import { capture, run } from "../../f/common/run.ts";
import { setupNixEnv } from "./nix.ts";
import { hostOpenssh } from "./openssh.ts";

export const FIXTURES_DIR = resolve(import.meta.dirname, "../fixtures");

/** nixpkgs' lib beside this checkout (the shared reference copy), when it is there. */
export const REFERENCE_NIXPKGS_LIB = resolve(import.meta.dirname, "../../../shared/reference/nixpkgs-lib");
/** Where nixpkgs' lib comes from otherwise (it needs the network). */
export const UPSTREAM_NIXPKGS_LIB = "github:nix-community/nixpkgs.lib";

/**
 * The folder holding nixpkgs' `lib/` that the stand-in nixpkgs evaluates with:
 * KDEVFLOW_NIXPKGS_LIB, else the reference copy beside the checkout, else
 * github:nix-community/nixpkgs.lib fetched into the store.
 */
export async function nixpkgsLibSource(env: Record<string, string | undefined> = process.env): Promise<string> {
  if (env.KDEVFLOW_NIXPKGS_LIB) return env.KDEVFLOW_NIXPKGS_LIB;
  if (existsSync(join(REFERENCE_NIXPKGS_LIB, "lib", "default.nix"))) return REFERENCE_NIXPKGS_LIB;
  const out = JSON.parse(await capture(nixArgv(["flake", "prefetch", "--json", UPSTREAM_NIXPKGS_LIB]))) as { storePath?: string };
  if (!out.storePath) throw new Error(`nix flake prefetch ${UPSTREAM_NIXPKGS_LIB} named no store path`);
  return out.storePath;
}

/** The file in every copy that holds the run's id. */
export const RUN_MARKER = ".kdevflow-test-run";

/** In the library's committed flake.nix, the one placeholder for its nixpkgs copy's absolute path. */
export const NIXPKGS_PLACEHOLDER = "@KDEVFLOW_TEST_NIXPKGS@";

export interface TestFlakes {
  runId: string;
  /** The folder holding this run's copies. */
  dir: string;
  /** `path:` reference and folder of the test library copy. */
  library: string;
  libraryDir: string;
  /** `path:` reference and folder of the stand-in nixpkgs copy (the library's `nixpkgs` input). */
  nixpkgs: string;
  nixpkgsDir: string;
  /** `path:` reference and folder of the dev-shell-only flake copy. */
  devshell: string;
  devshellDir: string;
}

/** The library's flake.nix with its nixpkgs input pointed at an absolute path. */
export function pinNixpkgs(flakeNix: string, nixpkgsDir: string): string {
  const parts = flakeNix.split(NIXPKGS_PLACEHOLDER);
  if (parts.length !== 2) throw new Error(`the test library's flake.nix must hold ${NIXPKGS_PLACEHOLDER} exactly once (found ${parts.length - 1})`);
  if (!nixpkgsDir.startsWith("/")) throw new Error(`the stand-in nixpkgs must be named by an absolute path, got ${nixpkgsDir}`);
  return parts.join(nixpkgsDir);
}

async function copyWithMarker(from: string, to: string, runId: string): Promise<void> {
  await cp(from, to, { recursive: true, filter: (src) => !/\/result$/.test(src) });
  await writeFile(join(to, RUN_MARKER), `${runId}\n`);
}

/**
 * Make the copies in `dir` (which must not exist yet): built beside it and renamed into
 * place, so a killed build leaves nothing that looks finished.
 */
export async function makeTestFlakes(dir: string, runId: string = randomUUID()): Promise<TestFlakes> {
  const env = await setupNixEnv();
  const parent = resolve(dir, "..");
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, ".test-flakes-"));
  try {
    const nixpkgsTmp = join(tmp, "nixpkgs");
    const libraryTmp = join(tmp, "nixos-flake");
    await copyWithMarker(join(FIXTURES_DIR, "nixpkgs"), nixpkgsTmp, runId);
    await completeNixpkgs(nixpkgsTmp);
    await copyWithMarker(join(FIXTURES_DIR, "nixos-flake"), libraryTmp, runId);
    await copyWithMarker(join(FIXTURES_DIR, "devshell-flake"), join(tmp, "devshell-flake"), runId);
    // The final path, not the temporary one: the copy is renamed before anything reads it.
    const flakeNix = join(libraryTmp, "flake.nix");
    await writeFile(flakeNix, pinNixpkgs(await readFile(flakeNix, "utf8"), join(dir, "nixpkgs")));
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const flakes = testFlakesIn(dir, runId);
  // The library's own lock: written once here, so every test locks against the same pin.
  await run(nixArgv(["flake", "lock", flakes.library]), { env: { ...process.env, ...env }, quiet: true, capture: true });
  return flakes;
}

/** Give a copy of the stand-in nixpkgs nixpkgs' real lib and the host's sshd (host.json). */
export async function completeNixpkgs(dir: string): Promise<void> {
  const lib = join(await nixpkgsLibSource(), "lib");
  if (!existsSync(join(lib, "default.nix"))) throw new Error(`${lib} is not nixpkgs' lib (no default.nix)`);
  await cp(lib, join(dir, "lib"), { recursive: true });
  await run(["chmod", "-R", "u+w", join(dir, "lib")], { quiet: true });
  await writeFile(join(dir, "host.json"), `${JSON.stringify(await hostOpenssh(), null, 2)}\n`);
}

function testFlakesIn(dir: string, runId: string): TestFlakes {
  const at = (name: string) => join(dir, name);
  return {
    runId,
    dir,
    library: `path:${at("nixos-flake")}`,
    libraryDir: at("nixos-flake"),
    nixpkgs: `path:${at("nixpkgs")}`,
    nixpkgsDir: at("nixpkgs"),
    devshell: `path:${at("devshell-flake")}`,
    devshellDir: at("devshell-flake"),
  };
}

let cached: Promise<TestFlakes> | undefined;

/** This run's test flakes (made on first use). */
export function testFlakes(env: Record<string, string | undefined> = process.env): Promise<TestFlakes> {
  cached ??= (async () => {
    const runDir = env.KDEVFLOW_TEST_RUN_DIR;
    if (!runDir) {
      // Not under vitest's global setup: this process's own copies, gone when it exits.
      const own = await mkdtemp(join(tmpdir(), "kdevflow-test-flakes-"));
      process.once("exit", () => rmSync(own, { recursive: true, force: true }));
      return makeTestFlakes(join(own, "flakes"));
    }
    const runId = env.KDEVFLOW_TEST_RUN_ID || runDir;
    const dir = join(runDir, "flakes");
    return withLock(join(runDir, "flakes.lock"), { what: "this run's test flakes" }, async () => {
      if (existsSync(join(dir, "nixos-flake", "flake.lock"))) return testFlakesIn(dir, runId);
      await rm(dir, { recursive: true, force: true });
      return makeTestFlakes(dir, runId);
    });
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

/**
 * A copy of this run's test library (with a fresh marker of its own) that a test may
 * change. It keeps the run's nixpkgs, so its lock is the run's lock.
 */
export async function copyTestLibrary(to: string, marker: string = randomUUID()): Promise<string> {
  const { libraryDir } = await testFlakes();
  await cp(libraryDir, to, { recursive: true, filter: (src) => !/\/result$/.test(src) });
  await writeFile(join(to, RUN_MARKER), `${marker}\n`);
  return to;
}

/** The real nixos-flake library beside this checkout (the shared reference copy), when it is there. */
export const REFERENCE_NIXOS_FLAKE = resolve(import.meta.dirname, "../../../shared/reference/nixos-flake");
/** The real library otherwise (it needs the network). */
export const UPSTREAM_NIXOS_FLAKE = "github:linux-kdevops/nixos-flake";

const NIXPKGS_INPUT = /^([ \t]*inputs\.nixpkgs\.url[ \t]*=[ \t]*)"[^"]*";/m;

/**
 * A copy of the real nixos-flake library (KDEVFLOW_REAL_NIXOS_FLAKE, else
 * github:linux-kdevops/nixos-flake fetched into the store) whose `nixpkgs` input is this
 * run's stand-in nixpkgs: the library's own nixpkgs (a nixos-26.05 checkout) is out of
 * reach offline. Locked, ready to render against. `source` says where it came from.
 */
export async function realLibraryCopy(to: string, env: Record<string, string | undefined> = process.env): Promise<{ dir: string; ref: string; source: string }> {
  const { nixpkgsDir } = await testFlakes();
  let source = env.KDEVFLOW_REAL_NIXOS_FLAKE ?? "";
  if (!source) {
    const out = JSON.parse(await capture(nixArgv(["flake", "prefetch", "--json", UPSTREAM_NIXOS_FLAKE]))) as { storePath?: string };
    if (!out.storePath) throw new Error(`nix flake prefetch ${UPSTREAM_NIXOS_FLAKE} named no store path`);
    source = out.storePath;
  }
  source = source.replace(/^path:/, "");
  if (!existsSync(join(source, "flake.nix"))) throw new Error(`KDEVFLOW_REAL_NIXOS_FLAKE: ${source} holds no flake.nix`);
  await cp(source, to, { recursive: true, filter: (src) => !/\/(\.git|result)$/.test(src) });
  await run(["chmod", "-R", "u+w", to], { quiet: true });
  const flakeNix = join(to, "flake.nix");
  const text = await readFile(flakeNix, "utf8");
  if (!NIXPKGS_INPUT.test(text)) throw new Error(`${source}/flake.nix has no line inputs.nixpkgs.url = "...": the library changed shape`);
  await writeFile(flakeNix, text.replace(NIXPKGS_INPUT, `$1"path:${nixpkgsDir}";`));
  await rm(join(to, "flake.lock"), { force: true });
  await run(nixArgv(["flake", "lock", `path:${to}`]), { quiet: true, capture: true });
  return { dir: to, ref: `path:${to}`, source };
}
