// Naming a kernel build: the identity parts, the label budget within uname -r's 64
// characters, the kernelrelease, and the release base as scripts/setlocalversion reads
// it. Pure.

import { contentDigest, IDENTITY_LENGTH, type IdentityParts } from "../../common/pipeline/identity.ts";
import { capLabel } from "../../common/pipeline/label.ts";
import type { Compiler } from "../../common/pipeline/fields.ts";
import type { Arch } from "./arch.ts";
import { identityConfigText } from "./config.ts";

export const STORE_PROJECT = "kernel";
export const KERNELRELEASE_MAX = 64;

export interface KernelIdentityInputs {
  configText: string;
  compiler: Compiler;
  makeArgv: readonly string[];
  arch: Arch;
  devshellDrv: string;
  sourceTree: string;
  reproducible: boolean;
}

export function kernelIdentityParts(i: KernelIdentityInputs): IdentityParts {
  return {
    project: STORE_PROJECT,
    config: contentDigest(identityConfigText(i.configText)),
    compiler: i.compiler,
    make_args: [...i.makeArgv],
    arch: i.arch,
    devshell: i.devshellDrv,
    tree: i.sourceTree,
    reproducible: i.reproducible ? "yes" : "no",
  };
}

/**
 * The label budget: `uname -r` is `<base>-<label>-<identity>` and must fit in 64
 * characters; `base` is the release make prints without a LOCALVERSION (e.g. 6.1.192).
 */
export function labelBudget(base: string): number {
  return KERNELRELEASE_MAX - base.length - 2 - IDENTITY_LENGTH;
}

export interface ReleasePlan {
  label: string;
  localversion: string;
  kernelrelease: string;
}

/** Shorten the label to fit and name the release. Never cuts the identity or a -vN. */
export function planRelease(base: string, label: string, identity: string): ReleasePlan {
  const budget = labelBudget(base);
  if (budget < 1) throw new Error(`the kernel release ${base} leaves no room for a label within ${KERNELRELEASE_MAX} characters`);
  const capped = capLabel(label, budget);
  const localversion = `-${capped}-${identity}`;
  return { label: capped, localversion, kernelrelease: `${base}${localversion}` };
}

/**
 * KERNELVERSION as the top Makefile computes it: VERSION.PATCHLEVEL.SUBLEVEL then
 * EXTRAVERSION (a missing PATCHLEVEL or SUBLEVEL drops its part).
 */
export function kernelVersionFromMakefile(makefile: string): string {
  const get = (name: string): string => new RegExp(`^${name}[ \\t]*=[ \\t]*(.*)$`, "m").exec(makefile)?.[1]?.trim() ?? "";
  const version = get("VERSION");
  if (!/^\d+$/.test(version)) throw new Error("not a kernel tree: its Makefile has no numeric VERSION");
  const patchlevel = get("PATCHLEVEL");
  const sublevel = get("SUBLEVEL");
  return `${version}${patchlevel ? `.${patchlevel}${sublevel ? `.${sublevel}` : ""}` : ""}${get("EXTRAVERSION")}`;
}

/**
 * The release base, as scripts/setlocalversion builds it with LOCALVERSION_AUTO off and
 * before LOCALVERSION: KERNELVERSION, the localversion* files of the build dir and then
 * of the source tree (their text without trailing newlines), then CONFIG_LOCALVERSION.
 * The compile step checks the kernel it built says the same.
 */
export function releaseBase(kernelversion: string, localversionFiles: readonly string[], configLocalversion: string): string {
  return `${kernelversion}${localversionFiles.map((t) => t.replace(/\n+$/, "")).join("")}${configLocalversion}`;
}

/** localversion* file names in one folder, in the order the shell's glob gives them. */
export function localversionNames(names: readonly string[]): string[] {
  return names.filter((n) => n.startsWith("localversion") && !n.includes("~")).sort();
}

