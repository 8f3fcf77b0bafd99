// The parameter list of a step's `main`, read with windmill-parser-wasm-ts `parse_deno`,
// the parser the Windmill server uses to build a script's form. A worker passes a job's
// arguments to `main` by these names, in this order; the engine does the same.
// The wasm module is compiled once per process and each file parsed once.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { initSync, parse_deno } from "windmill-parser-wasm-ts";

export interface MainSignature {
  /** Argument names in declaration order. */
  names: string[];
  /** False when the file has no exported `main` (a library, or a typo). */
  hasMain: boolean;
}

let ready = false;

function ensureParser(): void {
  if (ready) return;
  const require = createRequire(import.meta.url);
  const wasmPath = require.resolve("windmill-parser-wasm-ts/windmill_parser_wasm_bg.wasm");
  initSync({ module: readFileSync(wasmPath) });
  ready = true;
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
export function parseMainSignature(code: string): MainSignature {
  ensureParser();
  const raw = parse_deno(code, null);
  const parsed = JSON.parse(raw) as ParsedMain;
  if (parsed.error) throw new Error(parsed.error);
  if (parsed.type === "Invalid" || !Array.isArray(parsed.args)) throw new Error("the parser could not read this file (a syntax error?)");
  // The server reads `export (async) function main(...)`; anything else is a library.
  return { names: parsed.args.map((a) => a.name), hasMain: parsed.auto_kind !== "lib" };
}

const cache = new Map<string, MainSignature>();

/** The signature of `main` in a file, parsed once per process. */
export function mainSignatureOf(file: string): MainSignature {
  const hit = cache.get(file);
  if (hit) return hit;
  const sig = parseMainSignature(readFileSync(file, "utf8"));
  cache.set(file, sig);
  return sig;
}
