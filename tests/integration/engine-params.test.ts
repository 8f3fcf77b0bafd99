// main's parameters as windmill-parser-wasm-ts reads them (the real wasm parser), and
// the on-disk cache of those signatures keyed by file content.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { cacheDir, mainSignatureOf, parseMainSignature } from "../../cli/engine/params.ts";

const scratch = mkdtempSync(join(tmpdir(), "kdevflow-params-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("parseMainSignature", () => {
  it.each([
    ["plain arguments in order", "export async function main(b: string, a: number = 2) { return 1 }", ["b", "a"], true],
    ["inline object and union types", 'export async function main(cfg: { x: string }, mode: "a" | "b" = "a", list?: string[]) {}', ["cfg", "mode", "list"], true],
    ["no arguments", "export async function main() {}", [], true],
    ["a sync main", "export function main(x: string) { return x }", ["x"], true],
    ["a library (no main)", "export function helper(x: string) { return x }", [], false],
    ["an arrow main is not a main for the server", "export const main = async (x: string) => x", [], false],
  ])("%s", async (_name, code, names, hasMain) => {
    expect(await parseMainSignature(code)).toEqual({ names, hasMain });
  });

  it("refuses a file it cannot parse", async () => {
    await expect(parseMainSignature("export async function main(a: string, {")).rejects.toThrow(/could not read this file/);
  });
});

describe("mainSignatureOf caches by content", () => {
  it("writes the signature under the cache dir and reads it back, and a changed file is parsed again", async () => {
    const cache = join(scratch, "cache");
    const before = process.env.KDEVFLOW_CACHE_DIR;
    process.env.KDEVFLOW_CACHE_DIR = cache;
    try {
      expect(cacheDir()).toBe(cache);
      const file = join(scratch, "step.ts");
      writeFileSync(file, "export async function main(first: string) {}\n");
      expect(await mainSignatureOf(file)).toEqual({ names: ["first"], hasMain: true });
      const entries = readdirSync(join(cache, "main-signatures"));
      expect(entries).toHaveLength(1);
      const entry = join(cache, "main-signatures", entries[0]!);
      expect(JSON.parse(readFileSync(entry, "utf8"))).toEqual({ names: ["first"], hasMain: true });

      writeFileSync(file, "export async function main(second: number, third: boolean) {}\n");
      expect(await mainSignatureOf(file)).toEqual({ names: ["second", "third"], hasMain: true });
      expect(readdirSync(join(cache, "main-signatures"))).toHaveLength(2);

      // A cached entry is what a later process uses: prove it by planting a different one.
      const other = join(scratch, "other.ts");
      const code = "export async function main(real: string) {}\n";
      writeFileSync(other, code);
      await mainSignatureOf(other);
      const planted = readdirSync(join(cache, "main-signatures")).find((n) => readFileSync(join(cache, "main-signatures", n), "utf8").includes('"real"'))!;
      writeFileSync(join(cache, "main-signatures", planted), JSON.stringify({ names: ["planted"], hasMain: true }));
      vi.resetModules(); // a fresh module: nothing in memory, as in a new process
      const { mainSignatureOf: fresh } = await import("../../cli/engine/params.ts");
      expect(await fresh(other)).toEqual({ names: ["planted"], hasMain: true });

      // A corrupt entry is ignored and rewritten.
      writeFileSync(join(cache, "main-signatures", planted), "{not json");
      vi.resetModules();
      const { mainSignatureOf: fresh2 } = await import("../../cli/engine/params.ts");
      expect(await fresh2(other)).toEqual({ names: ["real"], hasMain: true });
    } finally {
      if (before === undefined) delete process.env.KDEVFLOW_CACHE_DIR;
      else process.env.KDEVFLOW_CACHE_DIR = before;
    }
  });
});
