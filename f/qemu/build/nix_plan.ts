// The Nix-package method, planned: the nix command lines that evaluate and build
// `<flake>#qemu`, or the same package with its source overridden to a commit of the
// qemu Bare, and how to read what came out. Pure.

import { InputError } from "../../common/errors.ts";
import { nixString } from "../../nix/build/nix_string.ts";
import { emulatorName } from "./plan.ts";

export interface NixPackageInputs {
  source: "flake" | "qemu_ref";
  flake: string;
  system: string;
  /** For qemu_ref: the Bare the commit is in, the commit, and the tree's VERSION. */
  bare?: string;
  commit?: string;
  version?: string | null;
}

export interface NixPackagePlan {
  what: string;
  /** The Nix expression of the overridden package (qemu_ref), or null for the flake's. */
  expr: string | null;
  /** `eval --raw` plus what selects the package (an installable or --impure --expr). */
  evalArgs: string[];
  drvPathArgs: string[];
  buildArgs: string[];
}

/**
 * The override that maps qemu_ref onto the package: nixpkgs' `qemu.overrideAttrs`
 * with `src` a fetchGit of the commit from the Bare and `version` the tree's VERSION.
 */
export function overrideExpr(p: { flake: string; system: string; bare: string; commit: string; version: string }): string {
  return [
    `let qemu = (builtins.getFlake ${nixString(p.flake)}).packages.${p.system}.qemu;`,
    `in qemu.overrideAttrs (old: {`,
    `version = ${nixString(p.version)};`,
    `src = builtins.fetchGit { url = ${nixString(`file://${p.bare}`)}; rev = ${nixString(p.commit)}; allRefs = true; };`,
    `})`,
  ].join(" ");
}

export function nixPackagePlan(p: NixPackageInputs): NixPackagePlan {
  if (p.source === "flake") {
    const attr = `${p.flake}#packages.${p.system}.qemu`;
    return {
      what: `${p.flake}#qemu`,
      expr: null,
      evalArgs: ["eval", "--raw"],
      drvPathArgs: [`${attr}.drvPath`],
      buildArgs: ["build", "--no-link", "--json", attr],
    };
  }
  if (!p.bare || !p.bare.startsWith("/")) throw new InputError("bare", "the absolute path of the qemu Bare (from prepare_worktree)", p.bare);
  if (!p.commit || !/^[0-9a-f]{40}$/.test(p.commit)) throw new InputError("commit", "a 40-hex commit id (from prepare_worktree)", p.commit);
  if (!p.version) throw new InputError("version", "the tree's VERSION", p.version);
  const expr = overrideExpr({ flake: p.flake, system: p.system, bare: p.bare, commit: p.commit, version: p.version });
  return {
    what: `${p.flake}#qemu with src = ${p.commit.slice(0, 12)}`,
    expr,
    evalArgs: ["eval", "--raw", "--impure"],
    drvPathArgs: ["--expr", `(${expr}).drvPath`],
    buildArgs: ["build", "--impure", "--no-link", "--json", "--expr", expr],
  };
}

/** The version in `QEMU emulator version 7.2.22 (Debian ...)`. */
export function parseQemuVersionOutput(text: string): string {
  const m = /version (\d+\.\d+\.\d+(?:\.\d+)?(?:-rc\d+)?)/.exec(text);
  if (!m) throw new Error(`cannot read a QEMU version from: ${text.split("\n")[0]}`);
  return m[1]!;
}

/** The targets a package built, from its bin/ (qemu-system-<arch> is <arch>-softmmu). */
export function targetsFromBinaries(bins: readonly string[]): { list: string; emulator: string | null } {
  const targets = bins
    .map((b) => /^qemu-system-([a-z0-9_]+)$/.exec(b)?.[1])
    .filter((a): a is string => Boolean(a))
    .map((a) => `${a}-softmmu`)
    .sort();
  return { list: targets.join(","), emulator: targets.length ? emulatorName(targets) : null };
}
