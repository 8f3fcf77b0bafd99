// Writing a build's manifest: validated with the project's zod schema (so a producer
// cannot write what its consumers would reject), written atomically as result.json in
// the build dir, and returned as the flow result.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import { writeJsonAtomic } from "../atomic.ts";

export const RESULT_FILE = "result.json";

export function resultPath(buildDir: string): string {
  return join(buildDir, RESULT_FILE);
}

/** Validate `manifest` with `schema`, write `<buildDir>/result.json` atomically, return it. */
export async function writeManifest<T extends z.ZodTypeAny>(schema: T, buildDir: string, manifest: unknown): Promise<z.infer<T>> {
  const parsed = schema.safeParse(manifest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length ? issue.path.join(".") : "(top level)";
    throw new Error(`the build produced an invalid manifest: ${where}: ${issue?.message ?? "invalid"}`);
  }
  await writeJsonAtomic(resultPath(buildDir), parsed.data);
  return parsed.data;
}

/** The result.json of a build dir, parsed with `schema`, or null when there is none. */
export async function readManifest<T extends z.ZodTypeAny>(schema: T, buildDir: string): Promise<z.infer<T> | null> {
  let text: string;
  try {
    text = await readFile(resultPath(buildDir), "utf8");
  } catch {
    return null;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}
