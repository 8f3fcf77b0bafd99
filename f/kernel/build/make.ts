// The kernel's make command lines, planned: the variables every make call of one build
// shares, make_args checked and split without a shell, the reproducible-build variables,
// and reading compile progress from kbuild's output. Pure.

import { InputError } from "../../common/errors.ts";
import { splitArgs } from "../../common/pipeline/args.ts";
import type { Compiler } from "../../common/pipeline/fields.ts";
import { ARCH_SPECS, crossPrefix, type Arch } from "./arch.ts";
import { parseConfig } from "./config.ts";

/** Make variables kdevflow sets itself; make_args may not override them. */
export const RESERVED_MAKE_VARS = ["O", "ARCH", "CC", "LLVM", "CROSS_COMPILE", "LOCALVERSION", "INSTALL_PATH", "INSTALL_MOD_PATH", "KBUILD_BUILD_TIMESTAMP", "KBUILD_BUILD_USER", "KBUILD_BUILD_HOST", "KCONFIG_CONFIG"];

/**
 * make_args split without a shell. Each word reaches make as one literal argument;
 * variables kdevflow sets (O=, ARCH=, LOCALVERSION=, ...) and options that would
 * change the build dir or the makefile are refused.
 */
export function checkMakeArgs(text: string): string[] {
  const argv = splitArgs(text, "make_args");
  for (const arg of argv) {
    const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(arg)?.[1];
    if (name && RESERVED_MAKE_VARS.includes(name)) {
      throw new InputError("make_args", `no ${name}= (kdevflow sets ${RESERVED_MAKE_VARS.join(", ")} itself)`, arg);
    }
    if (/^(-C|--directory|-f|--file|--makefile|-j|--jobs)(=|$)/.test(arg) || /^-[Cfj]./.test(arg)) {
      throw new InputError("make_args", "no -C, -f or -j (kdevflow picks the directories and the job count)", arg);
    }
  }
  return argv;
}


export interface MakeContext {
  src: string;
  build: string;
  arch: Arch;
  compiler: Compiler;
  ccache: boolean;
  jobs: number;
  localversion?: string;
  /** KBUILD_BUILD_TIMESTAMP etc. when reproducible. */
  reproducibleVars?: Record<string, string>;
  makeArgv: readonly string[];
  hostArch?: string;
}

/** The variables every make call of one build shares, in a fixed order. */
export function makeVariables(c: MakeContext): string[] {
  const spec = ARCH_SPECS[c.arch];
  const vars = [`O=${c.build}`, `ARCH=${spec.makeArch}`];
  const cross = crossPrefix(c.arch, c.hostArch);
  if (c.compiler === "clang") {
    vars.push("LLVM=1");
    if (c.ccache) vars.push("CC=ccache clang");
  } else {
    if (cross) vars.push(`CROSS_COMPILE=${cross}`);
    if (c.ccache) vars.push(`CC=ccache ${cross ?? ""}gcc`);
  }
  if (c.localversion !== undefined) vars.push(`LOCALVERSION=${c.localversion}`);
  for (const [k, v] of Object.entries(c.reproducibleVars ?? {})) vars.push(`${k}=${v}`);
  return vars;
}

export function makeArgv(c: MakeContext, targets: readonly string[], opts: { jobs?: boolean; silent?: boolean } = {}): string[] {
  const argv = ["make", "-C", c.src];
  if (opts.silent) argv.push("-s");
  if (opts.jobs) argv.push(`-j${c.jobs}`);
  return [...argv, ...makeVariables(c), ...c.makeArgv, ...targets];
}

export function reproducibleVars(commitDate: string): Record<string, string> {
  return { KBUILD_BUILD_TIMESTAMP: commitDate, KBUILD_BUILD_USER: "kdevflow", KBUILD_BUILD_HOST: "kdevflow" };
}


/** A compile line in kbuild's short output: `  CC      init/main.o`, `  CC [M]  fs/x.o`. */
export function isCompileLine(line: string): boolean {
  return /^\s+CC( \[M\])?\s+\S/.test(line);
}

/**
 * How many compile lines to expect: the count of the last build in this build dir
 * when known, else a rough guess from the number of enabled options.
 */
export function estimateCompileUnits(lastCount: number | null, configText: string): number {
  if (lastCount && lastCount > 0) return lastCount;
  let enabled = 0;
  for (const v of parseConfig(configText).values()) if (v === "y" || v === "m") enabled++;
  return Math.max(200, Math.round(enabled * 2.2));
}

