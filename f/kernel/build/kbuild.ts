// The thin effectful half of the kernel build: running make inside the build shell with
// the shared ccache, and resolving config fragments from a tree (the Bare's commit
// before a worktree exists, the worktree after). Every decision is in the pure modules
// (arch.ts, config.ts, make.ts, release.ts).

import { isAbsolute } from "node:path";
import { readFile } from "node:fs/promises";
import { runInDevshell } from "../../common/devshell/nix_develop.ts";
import { InputError } from "../../common/errors.ts";
import { choiceList } from "../../common/inputs.ts";
import type { SourceReader } from "../../common/pipeline/project.ts";
import { shellOf, type Toolchain } from "../../common/pipeline/toolchain.ts";
import type { RunOptions, RunResult } from "../../common/run.ts";
import { gitOut } from "../../workbench/git.ts";
import { PROJECT_FRAGMENTS } from "../configs/fragments.ts";
import { ARCH_SPECS, toolchainProbe, type Arch } from "./arch.ts";
import type { Inputs } from "./inputs.ts";
import { checkMakeArgs, makeArgv, reproducibleVars, type MakeContext } from "./make.ts";

export interface KernelMake {
  toolchain: Toolchain;
  make: MakeContext;
}

/** The make context of one build: its tree and build dir, arch, compiler, ccache, release name and reproducible variables. */
export async function kernelMake(
  inputs: Inputs,
  toolchain: Toolchain,
  tree: { worktree: string; build_dir: string },
  release: { localversion?: string; commit?: string } = {},
): Promise<KernelMake> {
  const repro = inputs.reproducible && release.commit ? reproducibleVars(await commitDate(tree.worktree, release.commit)) : undefined;
  return {
    toolchain,
    make: {
      src: tree.worktree,
      build: tree.build_dir,
      arch: inputs.arch,
      compiler: inputs.compiler,
      ccache: inputs.ccache,
      jobs: toolchain.jobs,
      localversion: release.localversion,
      reproducibleVars: repro,
      makeArgv: checkMakeArgs(inputs.make_args),
    },
  };
}

/** Run make with `targets` inside the build shell, with the ccache environment. */
export function runMake(k: KernelMake, targets: readonly string[], opts: RunOptions & { jobs?: boolean; silent?: boolean } = {}): Promise<RunResult> {
  const { jobs, silent, ...runOpts } = opts;
  return runInDevshell(shellOf(k.toolchain), makeArgv(k.make, targets, { jobs, silent }), { ...runOpts, env: { ...k.toolchain.ccache_env, ...runOpts.env } });
}

/** The commit's date as kbuild prints it in `uname -v` (RFC 2822). */
export function commitDate(worktree: string, commit: string): Promise<string> {
  return gitOut(["git", "-C", worktree, "show", "-s", "--format=%cD", commit]);
}

/** The head commit and tree of a worktree (after a series, not the ref's). */
export async function headOf(worktree: string): Promise<{ commit: string; tree: string }> {
  const commit = await gitOut(["git", "-C", worktree, "rev-parse", "HEAD"]);
  const tree = await gitOut(["git", "-C", worktree, "rev-parse", "HEAD^{tree}"]);
  return { commit, tree };
}

export interface ResolvedFragment {
  /** As given in the input. */
  name: string;
  path: string;
  text: string;
  origin: "upstream" | "project" | "file";
}

const configsIn = async (tree: SourceReader, dir: string) => (await tree.list(dir)).filter((f) => f.endsWith(".config"));

/** The fragment names a tree and the project offer, for messages. */
export async function availableFragments(tree: SourceReader, arch: Arch): Promise<string[]> {
  const names = new Set<string>([...(await configsIn(tree, "kernel/configs")), ...(await configsIn(tree, `arch/${ARCH_SPECS[arch].srcArch}/configs`)), ...Object.keys(PROJECT_FRAGMENTS)]);
  return [...names].sort();
}

/**
 * Resolve fragment inputs, in the order given: an absolute path is a file on this
 * worker; a name (with or without .config) is looked up in the tree's kernel/configs/,
 * then arch/<arch>/configs/, then among the project's fragments (f/kernel/configs/).
 * An unknown one is an InputError naming the fragments that exist.
 */
export async function resolveFragments(names: readonly string[], tree: SourceReader, arch: Arch): Promise<ResolvedFragment[]> {
  const out: ResolvedFragment[] = [];
  for (const [i, name] of names.entries()) {
    if (isAbsolute(name)) {
      const text = await readFile(name, "utf8").catch(() => null);
      if (text === null) throw new InputError(`fragments[${i}]`, "a fragment file that exists and can be read", name);
      out.push({ name, path: name, text, origin: "file" });
      continue;
    }
    const file = name.endsWith(".config") ? name : `${name}.config`;
    let found = false;
    for (const dir of ["kernel/configs", `arch/${ARCH_SPECS[arch].srcArch}/configs`]) {
      const text = await tree.read(`${dir}/${file}`);
      if (text !== null) {
        out.push({ name, path: `${dir}/${file}`, text, origin: "upstream" });
        found = true;
        break;
      }
    }
    if (found) continue;
    const project = PROJECT_FRAGMENTS[name.replace(/\.config$/, "")];
    if (project !== undefined) {
      out.push({ name, path: `f/kernel/configs (${name})`, text: project, origin: "project" });
      continue;
    }
    throw new InputError(`fragments[${i}]`, `a fragment name this tree or the project has (${choiceList(await availableFragments(tree, arch))}) or an absolute file path`, name);
  }
  return out;
}

/** Is `tool` on the build shell's PATH? (`command -v` with the name as a positional argument.) */
export async function devshellHas(toolchain: Toolchain, tool: string): Promise<boolean> {
  const res = await runInDevshell(shellOf(toolchain), ["sh", "-c", 'command -v "$1" >/dev/null', "sh", tool], { quiet: true, allowFailure: true });
  return res.exitCode === 0;
}

/** An arch is buildable when its compiler (a cross gcc, or clang) is in the build shell. */
export async function checkArchToolchain(toolchain: Toolchain, arch: Arch, compiler: Inputs["compiler"]): Promise<void> {
  const tool = toolchainProbe(arch, compiler);
  if (!(await devshellHas(toolchain, tool))) {
    throw new InputError("arch", `an architecture whose toolchain is in the library's ${toolchain.shell} shell (${arch} needs ${tool}, which is not there)`, arch);
  }
}
