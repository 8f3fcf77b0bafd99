// Where the nixos-flake library is and what it holds right now: its template and its
// NAR hash. A `path:` library's template is read straight from its directory; for any
// other flake reference, from the store copy `nix flake metadata` names.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";
import { nixArgv } from "../../common/nix.ts";
import { capture } from "../../common/run.ts";
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
