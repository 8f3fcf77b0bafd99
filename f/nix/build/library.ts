// Where the nixos-flake library is and what it holds right now: its template, the
// profiles, test suites and mounts it offers, and its NAR hash. A `path:` library's
// template is read straight from its directory; for any other flake reference, from the
// store copy `nix flake metadata` names.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";
import { nixArgv } from "../../common/nix.ts";
import { capture, CommandError } from "../../common/run.ts";
import type { LibraryOffer } from "./plan.ts";
import { TEMPLATE_PATH } from "./render.ts";

/** The directory of a path: flake reference (without its ?query), else null. */
export function libraryDir(ref: string): string | null {
  if (!ref.startsWith("path:")) return null;
  return ref.slice("path:".length).split("?")[0]!.replace(/(.)\/+$/, "$1");
}

interface Metadata {
  path: string;
  narHash: string | null;
}

async function metadata(ref: string): Promise<Metadata> {
  const out = await capture(nixArgv(["flake", "metadata", "--json", "--no-write-lock-file", ref]));
  const data = JSON.parse(out) as { path?: string; locked?: { narHash?: string } };
  if (!data.path) throw new Error(`nix flake metadata ${ref} gave no store path`);
  return { path: data.path, narHash: data.locked?.narHash ?? null };
}

/**
 * The library's current NAR hash: the value a fresh flake.lock would pin. Asked of the
 * fetcher itself (`nix flake metadata`), so it matches what `nix flake lock` records on
 * any Nix version, whatever the fetcher copies or leaves out.
 */
export async function libraryNarHash(ref: string): Promise<string | null> {
  return (await metadata(ref)).narHash;
}

/** The text of the library's templates/imageless/flake.nix. */
export async function readTemplate(ref: string): Promise<string> {
  const dir = libraryDir(ref) ?? (await metadata(ref)).path;
  const file = join(dir, TEMPLATE_PATH);
  try {
    return await readFile(file, "utf8");
  } catch {
    throw new InputError("nixos_flake", `a nixos-flake library holding ${TEMPLATE_PATH}`, ref);
  }
}

/** The expression that lists what the library's nixosModules offer (attribute names only: nothing is evaluated beyond them). */
export const OFFER_APPLY =
  "m: { profiles = builtins.attrNames (m.profiles or { }); testSuites = builtins.attrNames (m.testSuites or { }); mounts = builtins.attrNames (m.mounts or { }); }";

/** The profiles, test suites and mounts the library has, by name (nixosModules.{profiles,testSuites,mounts}). */
export async function libraryOffer(ref: string): Promise<LibraryOffer> {
  let out: string;
  try {
    out = await capture(nixArgv(["eval", "--json", `${ref}#nixosModules`, "--apply", OFFER_APPLY]));
  } catch (err) {
    if (err instanceof CommandError && err.tail.some((l) => /does not provide attribute .*nixosModules/.test(l))) {
      throw new InputError("nixos_flake", "a nixos-flake library (a flake with nixosModules.profiles, testSuites and mounts)", ref);
    }
    throw err;
  }
  const data = JSON.parse(out) as Partial<LibraryOffer>;
  return { profiles: data.profiles ?? [], testSuites: data.testSuites ?? [], mounts: data.mounts ?? [] };
}
