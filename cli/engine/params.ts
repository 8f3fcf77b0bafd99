// The parameter list of a step's `main`, read with windmill-parser-wasm-ts `parse_deno`,
// the parser the Windmill server uses to build a script's form. A worker passes a job's
// arguments to `main` by these names, in this order; the engine does the same.
// The wasm module is compiled at most once per process (a lazily made constant), and
// parse results are kept on disk by content hash, so a run whose scripts did not change
// does not load the parser at all.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../f/common/atomic.ts";

export interface MainSignature {
  /** Argument names in declaration order. */
  names: string[];
  /** False when the file has no exported `main` (a library, or a typo). */
  hasMain: boolean;
}

type ParseDeno = (code: string, mainOverride?: string | null) => string;

let parser: Promise<ParseDeno> | undefined;

/** Load and instantiate the parser once, and only when a signature is not in the cache. */
function loadParser(): Promise<ParseDeno> {
  parser ??= (async () => {
    const wasm = await import("windmill-parser-wasm-ts");
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve("windmill-parser-wasm-ts/windmill_parser_wasm_bg.wasm");
    wasm.initSync({ module: readFileSync(wasmPath) });
    return wasm.parse_deno;
  })();
  return parser;
}

interface ParsedArg {
  name: string;
}

interface ParsedMain {
  args?: ParsedArg[];
  auto_kind?: string | null;
  type?: string;
  error?: string;
}

/** Read main's parameters from source text. Throws with the parser's message on a syntax error. */
export async function parseMainSignature(code: string): Promise<MainSignature> {
  const parseDeno = await loadParser();
  const raw = parseDeno(code, null);
  const parsed = JSON.parse(raw) as ParsedMain;
  if (parsed.error) throw new Error(parsed.error);
  if (parsed.type === "Invalid" || !Array.isArray(parsed.args)) throw new Error("the parser could not read this file (a syntax error?)");
  // The server reads `export (async) function main(...)`; anything else is a library.
  return { names: parsed.args.map((a) => a.name), hasMain: parsed.auto_kind !== "lib" };
}

/** Bump when the cached shape or the way it is computed changes. */
const CACHE_VERSION = 1;

/** Where parse results are kept: KDEVFLOW_CACHE_DIR, else $XDG_CACHE_HOME/kdevflow, else ~/.cache/kdevflow. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KDEVFLOW_CACHE_DIR) return env.KDEVFLOW_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kdevflow");
}

function readCached(path: string): MainSignature | null {
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as MainSignature;
    return Array.isArray(v.names) && typeof v.hasMain === "boolean" ? v : null;
  } catch {
    return null;
  }
}

/** The signature of `main` in a file: from the disk cache, else parse_deno (and then cached). */
export async function mainSignatureOf(file: string): Promise<MainSignature> {
  const code = readFileSync(file, "utf8");
  const hash = createHash("sha256").update(`${CACHE_VERSION}\0${code}`).digest("hex");
  const onDisk = join(cacheDir(), "main-signatures", `${hash}.json`);
  const hit = readCached(onDisk);
  if (hit) return hit;
  const sig = await parseMainSignature(code);
  try {
    await writeFileAtomic(onDisk, JSON.stringify(sig));
  } catch {
    /* a cache we cannot write only costs time */
  }
  return sig;
}
