// The contracts between flows. A build flow writes its manifest as result.json and
// returns it; a downstream flow (boot, bringup) parses it with the same schema, so a
// producer and a consumer cannot drift apart. Anything that produces a valid manifest
// (a make build, a Nix package) is interchangeable downstream.

import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InputError } from "./errors.ts";
import { issueToInputError } from "./inputs.ts";

const absolutePath = z.string().regex(/^\//).meta({ expected: "an absolute path" });
const identity = z.string().regex(/^[0-9a-f]{12}$/).meta({ expected: "a build identity (12 lowercase hex digits)" });
const sha = z.string().regex(/^[0-9a-f]{40}$/).meta({ expected: "a 40-hex git commit id" });

export const KernelManifest = z.object({
  kind: z.literal("kernel"),
  image: absolutePath,
  modules_dir: absolutePath.nullable(),
  kernelrelease: z.string().min(1).max(64),
  version: z.string().min(1),
  identity,
  label: z.string().min(1),
  commit: sha,
  ref: z.string().min(1),
  config: absolutePath,
  config_method: z.enum(["make_target", "preset", "fragments"]),
  arch: z.string().min(1),
  compiler: z.enum(["gcc", "clang"]),
  compile_commands: absolutePath.nullable(),
  destdir: absolutePath,
  store_path: absolutePath.nullable(),
  store_key: z.string().min(1),
  worktree: absolutePath,
  b4_series: z.string().nullable(),
  reused: z.boolean(),
  built_at: z.string(),
});
export type KernelManifest = z.infer<typeof KernelManifest>;

export const QemuManifest = z.object({
  kind: z.literal("qemu"),
  method: z.enum(["make", "nix"]),
  qemu_binary: absolutePath,
  version: z.string().min(1),
  target_list: z.string().min(1),
  commit: z.string(),
  ref: z.string().min(1),
  destdir: absolutePath,
  identity,
  label: z.string().min(1),
  store_path: absolutePath.nullable(),
  store_key: z.string().min(1),
  /** Directories QEMU searches for firmware and option ROMs (`-L`), in order. */
  firmware_dirs: z.array(absolutePath),
  /** The qemu-img next to the binary, for creating extra disks. */
  qemu_img: absolutePath.nullable(),
  reused: z.boolean(),
  built_at: z.string(),
});
export type QemuManifest = z.infer<typeof QemuManifest>;

/** Either build manifest: what the shared publish and collect steps take. */
export const BuildManifest = z.discriminatedUnion("kind", [KernelManifest, QemuManifest]);
export type BuildManifest = z.infer<typeof BuildManifest>;

export const ClosureResult = z.object({
  toplevel: absolutePath,
  init: absolutePath,
  initrd: absolutePath,
  config_dir: absolutePath,
  kernel_params: z.array(z.string()).default([]),
});
export type ClosureResult = z.infer<typeof ClosureResult>;

/** Parse a manifest given inline (an object) or as the path of a result.json. */
export async function loadManifest<T extends z.ZodTypeAny>(field: string, schema: T, value: unknown): Promise<z.infer<T>> {
  let data = value;
  if (typeof value === "string") {
    if (!value.startsWith("/")) throw new InputError(field, "a manifest object or the absolute path of a result.json", value);
    let text: string;
    try {
      text = await readFile(value, "utf8");
    } catch {
      throw new InputError(field, "the path of an existing result.json", value);
    }
    try {
      data = JSON.parse(text);
    } catch {
      throw new InputError(field, "a result.json holding JSON", value);
    }
  }
  if (data === null || data === undefined || (typeof data === "object" && Object.keys(data as object).length === 0)) {
    throw new InputError(field, "a manifest from a build flow", data);
  }
  const parsed = schema.safeParse(data);
  // Name the manifest's own field (closure.initrd), in the same words as any input.
  if (!parsed.success) throw issueToInputError(schema, parsed.error.issues[0]!, data, field);
  return parsed.data;
}
