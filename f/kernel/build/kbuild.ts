// The thin effectful half of the kernel build: running make inside the build dev shell
// with the shared ccache, reading the source tree (base targets, fragments), and the
// facts a step needs from git. Every decision is in plan.ts.

import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { isAbsolute, join } from "node:path";
import { ccacheDirFor, writeCcacheConf } from "../../common/devshell/ccache.ts";
import { devshellSpec, runInDevshell, type DevshellSpec } from "../../common/devshell/nix_develop.ts";
import { InputError } from "../../common/errors.ts";
import { workbenchLayout } from "../../common/layout.ts";
import { capture, type RunOptions, type RunResult } from "../../common/run.ts";
import { PROJECT_FRAGMENTS } from "../configs/fragments.ts";
import { ARCH_SPECS, baseTargets, checkMakeArgs, makeArgv, reproducibleVars, toolchainProbe, type Arch, type Compiler, type MakeContext } from "./plan.ts";

export interface KernelStepInputs {
  worktree: string;
  build_dir: string;
  arch: Arch;
  compiler: Compiler;
  ccache: boolean;
  ccache_max_size: string;
  make_args: string;
  nixos_flake: string;
  /** -<label>-<identity>, once known. */
  localversion?: string;
  reproducible?: boolean;
  commit?: string;
}

export interface KernelContext {
  shell: DevshellSpec;
  make: MakeContext;
  env: Record<string, string>;
}

/** The dev shell, the make variables and the ccache environment of one build. */
export async function kernelContext(i: KernelStepInputs): Promise<KernelContext> {
  const shell = devshellSpec(i.nixos_flake || null);
  const env: Record<string, string> = {};
  if (i.ccache) {
    const layout = workbenchLayout();
    const conf = await writeCcacheConf({ cacheDir: ccacheDirFor(layout), maxSize: i.ccache_max_size, baseDir: layout.workersDir });
    // The environment beats the file, so two Workbenches sharing one cache folder
    // (tests, or KDEVFLOW_CCACHE_DIR) keep their own base_dir and size.
    Object.assign(env, conf.env, { CCACHE_BASEDIR: layout.workersDir, CCACHE_MAXSIZE: i.ccache_max_size });
  }
  const repro = i.reproducible && i.commit ? reproducibleVars(await commitDate(i.worktree, i.commit)) : undefined;
  const make: MakeContext = {
    src: i.worktree,
    build: i.build_dir,
    arch: i.arch,
    compiler: i.compiler,
    ccache: i.ccache,
    jobs: availableParallelism(),
    localversion: i.localversion,
    reproducibleVars: repro,
    makeArgv: checkMakeArgs(i.make_args ?? ""),
  };
  return { shell, make, env };
}

/** Run make with `targets` inside the dev shell. */
export function runMake(ctx: KernelContext, targets: readonly string[], opts: RunOptions & { jobs?: boolean; silent?: boolean } = {}): Promise<RunResult> {
  const { jobs, silent, ...runOpts } = opts;
  return runInDevshell(ctx.shell, makeArgv(ctx.make, targets, { jobs, silent }), { ...runOpts, env: { ...ctx.env, ...runOpts.env } });
}

/** The commit's date as kbuild prints it in `uname -v` (RFC 2822). */
export async function commitDate(worktree: string, commit: string): Promise<string> {
  return capture(["git", "-C", worktree, "show", "-s", "--format=%cD", commit]);
}

/** The head commit and tree of a worktree. */
export async function headOf(worktree: string): Promise<{ commit: string; tree: string }> {
  const commit = await capture(["git", "-C", worktree, "rev-parse", "HEAD"]);
  const tree = await capture(["git", "-C", worktree, "rev-parse", "HEAD^{tree}"]);
  return { commit, tree };
}

/** The base config targets the tree offers for an arch. */
export async function treeBaseTargets(src: string, arch: Arch): Promise<string[]> {
  const dir = join(src, "arch", ARCH_SPECS[arch].srcArch, "configs");
  const files = existsSync(dir) ? await readdir(dir) : [];
  return baseTargets(files);
}

export interface ResolvedFragment {
  /** As given in the input. */
  name: string;
  path: string;
  text: string;
  origin: "upstream" | "project" | "file";
}

async function listConfigs(dir: string): Promise<string[]> {
  return existsSync(dir) ? (await readdir(dir)).filter((f) => f.endsWith(".config")) : [];
}

/** The fragment names a tree and the project offer, for messages and the form. */
export async function availableFragments(src: string, arch: Arch): Promise<string[]> {
  const names = new Set<string>();
  for (const f of await listConfigs(join(src, "kernel", "configs"))) names.add(f);
  for (const f of await listConfigs(join(src, "arch", ARCH_SPECS[arch].srcArch, "configs"))) names.add(f);
  for (const name of Object.keys(PROJECT_FRAGMENTS)) names.add(name);
  return [...names].sort();
}

/**
 * Resolve fragment inputs, in the order given: an absolute path is a file on this
 * worker; a name (with or without .config) is looked up in the tree's kernel/configs/,
 * then arch/<arch>/configs/, then among the project's fragments (f/kernel/configs/).
 * An unknown one is an InputError naming the fragments that exist.
 */
export async function resolveFragments(names: readonly string[], src: string, arch: Arch): Promise<ResolvedFragment[]> {
  const out: ResolvedFragment[] = [];
  for (const name of names) {
    if (isAbsolute(name)) {
      let text: string;
      try {
        text = await readFile(name, "utf8");
      } catch {
        throw new InputError("fragments", "fragment files that exist and can be read", name);
      }
      out.push({ name, path: name, text, origin: "file" });
      continue;
    }
    const file = name.endsWith(".config") ? name : `${name}.config`;
    const upstream = [join(src, "kernel", "configs", file), join(src, "arch", ARCH_SPECS[arch].srcArch, "configs", file)].find((p) => existsSync(p));
    if (upstream) {
      out.push({ name, path: upstream, text: await readFile(upstream, "utf8"), origin: "upstream" });
      continue;
    }
    const project = PROJECT_FRAGMENTS[name.replace(/\.config$/, "")];
    if (project !== undefined) {
      out.push({ name, path: `f/kernel/configs (${name})`, text: project, origin: "project" });
      continue;
    }
    const known = await availableFragments(src, arch);
    throw new InputError("fragments", `fragment names from ${known.join(", ")} or absolute file paths`, name);
  }
  return out;
}

/** Is `tool` on the dev shell's PATH? (`command -v` with the name as a positional argument.) */
export async function devshellHas(shell: DevshellSpec, tool: string): Promise<boolean> {
  const res = await runInDevshell(shell, ["sh", "-c", 'command -v "$1" >/dev/null', "sh", tool], { quiet: true, allowFailure: true });
  return res.exitCode === 0;
}

/** An arch is buildable when its compiler (a cross gcc, or clang) is in the dev shell. */
export async function checkToolchain(shell: DevshellSpec, arch: Arch, compiler: Compiler): Promise<void> {
  const tool = toolchainProbe(arch, compiler);
  if (!(await devshellHas(shell, tool))) {
    throw new InputError("arch", `an architecture whose toolchain is in the build dev shell (${arch} needs ${tool}, which is not there)`, arch);
  }
}
