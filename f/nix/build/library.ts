// Where the nixos-flake library is and what it holds right now: its template and its
// NAR hash. A `path:` library is read straight from its directory (fast: the flow runs
// on every build); any other flake reference is fetched once with `nix flake metadata`.

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

/** The library's current NAR hash, the value a fresh flake.lock would pin. */
export async function libraryNarHash(ref: string): Promise<string | null> {
  const dir = libraryDir(ref);
  if (dir === null) return (await metadata(ref)).narHash;
  // `nix hash path` gives the SRI sha256 of the directory's NAR: what the path:
  // fetcher records as narHash.
  return capture(nixArgv(["hash", "path", dir]));
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
