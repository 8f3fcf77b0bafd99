// The nix command line, planned once. Every nix call kdevflow makes goes through
// nixArgv so the extra options from configuration (KDEVFLOW_NIX_OPTIONS) and the
// experimental features a flake needs are always there, on Debian's Nix 2.8 and on
// current Nix alike.

import { InputError } from "./errors.ts";
import { capture } from "./run.ts";

/**
 * The nixos-flake library by default: the public one (its flake.lock pins nixpkgs; a
 * per-VM flake.lock pins the library's revision). A vendored copy, a fork or a local
 * checkout is chosen with KDEVFLOW_NIXOS_FLAKE or a flow's nixos_flake input.
 */
export const DEFAULT_FLAKE = "github:linux-kdevops/nixos-flake";

export type NixOptions = Record<string, string>;

/**
 * Extra `--option NAME VALUE` pairs from KDEVFLOW_NIX_OPTIONS: a JSON object
 * (`{"sandbox": "false"}`) or lines of `name = value`.
 */
export function parseNixOptions(text: string | undefined): NixOptions {
  if (!text || !text.trim()) return {};
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new InputError("KDEVFLOW_NIX_OPTIONS", "a JSON object of option names to values or lines of 'name = value'", text);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new InputError("KDEVFLOW_NIX_OPTIONS", "a JSON object of option names to values", text);
    }
    return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  }
  const out: NixOptions = {};
  for (const raw of trimmed.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new InputError("KDEVFLOW_NIX_OPTIONS", "lines of 'name = value'", line);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

export function nixOptionsFromEnv(env: Record<string, string | undefined> = process.env): NixOptions {
  return parseNixOptions(env.KDEVFLOW_NIX_OPTIONS);
}

/** `nix --extra-experimental-features 'nix-command flakes' [--option k v]... <args>` */
export function nixArgv(args: readonly string[], options: NixOptions = nixOptionsFromEnv()): string[] {
  const argv = ["nix", "--extra-experimental-features", "nix-command flakes"];
  for (const [k, v] of Object.entries(options)) argv.push("--option", k, v);
  return [...argv, ...args];
}

const FLAKE_REF = /^(\/\S*|path:\/\S*|(github|gitlab|sourcehut):[^/\s]+\/\S+|git\+(https?|ssh|file):\/\/\S+|(https?|file):\/\/\S+|tarball\+(https?|file):\/\/\S+|flake:[A-Za-z][\w.-]*)$/;

export const FLAKE_REF_EXPECTED = "a flake reference (an absolute path, path:/..., github:owner/repo, git+https://... or https://...), or empty for KDEVFLOW_NIXOS_FLAKE or the default library";

/** Null when `ref` is a flake reference kdevflow can hand to Nix from any folder; else what was expected. Pure. */
export function flakeRefProblem(ref: string): string | null {
  const r = ref.trim();
  if (r === "" || FLAKE_REF.test(r)) return null;
  return FLAKE_REF_EXPECTED;
}

/** The flake reference from an input, else KDEVFLOW_NIXOS_FLAKE, else the public library. */
export function resolveFlake(input?: string | null, env: Record<string, string | undefined> = process.env): string {
  const ref = (input && input.trim()) || env.KDEVFLOW_NIXOS_FLAKE || DEFAULT_FLAKE;
  if (/^\//.test(ref)) return `path:${ref}`;
  if (/^path:(?!\/)/.test(ref)) throw new InputError("nixos_flake", "an absolute path: flake reference (path:/...)", ref);
  return ref;
}

/** Nix's name for this machine's platform. */
export function nixSystem(arch: string = process.arch, platform: string = process.platform): string {
  const cpu = arch === "x64" ? "x86_64" : arch === "arm64" ? "aarch64" : arch;
  return `${cpu}-${platform}`;
}

export interface NixVersion {
  major: number;
  minor: number;
  text: string;
}

export function parseNixVersion(output: string): NixVersion {
  const m = /(\d+)\.(\d+)(?:\.\d+)?/.exec(output);
  if (!m) throw new Error(`cannot read the Nix version from: ${output.trim()}`);
  return { major: Number(m[1]), minor: Number(m[2]), text: m[0] };
}

let versionCache: Promise<NixVersion> | undefined;
export function nixVersion(): Promise<NixVersion> {
  versionCache ??= capture(["nix", "--version"]).then(parseNixVersion);
  return versionCache;
}

/** Nix before 2.19 updates one input with `flake lock --update-input`; later with `flake update <input>`. */
export function updateInputArgs(version: NixVersion, flakeRef: string, input: string): string[] {
  const modern = version.major > 2 || (version.major === 2 && version.minor >= 19);
  return modern ? ["flake", "update", "--flake", flakeRef, input] : ["flake", "lock", flakeRef, "--update-input", input];
}
