// One build pipeline, one adapter per project. The shared steps (f/pipeline/: check the
// inputs, identify and decide reuse, publish, collect; and f/workbench/prepare_worktree)
// are written once; a project (the kernel, QEMU, a new one) supplies a BuildProject:
// its names, its input schema, what it checks against the source tree, what goes into
// its identity, how it names a build, and its manifest schema. Its own steps (configure,
// compile, devtools, install) take the checked inputs and one planned object each.
//
//   check_inputs -> prepare_worktree -> [project: apply, configure] -> identify
//     -> [project: configure, compile, devtools, install] (skipped when reused)
//     -> publish (skipped when reused) -> collect
//
// A kernel configures before identify (its identity hashes the .config); QEMU after
// (its identity hashes configure's inputs).

import { z } from "zod";
import type { IdentityParts } from "./identity.ts";
import { readResult, WiringError } from "../inputs.ts";
import { Toolchain } from "./toolchain.ts";

/** The source a build is made from, resolved in the Bare by the first step (read only). */
export const SourceTree = z.object({
  /** The ref as the user gave it. */
  ref: z.string().min(1),
  commit: z.string().regex(/^[0-9a-f]{40}$/),
  /** The commit's tree hash. */
  tree: z.string().regex(/^[0-9a-f]{40}$/),
  /** The full ref name the ref resolved through (refs/tags/... for a tag), or null for a commit id. */
  resolved_ref: z.string().nullable(),
});
export type SourceTree = z.infer<typeof SourceTree>;

/** What prepare_worktree hands over (the fields the pipeline reads). */
export const Worktree = z.object({
  worktree: z.string().regex(/^\//),
  build_dir: z.string().regex(/^\//),
  destdir: z.string().regex(/^\//),
  commit: z.string(),
  tree: z.string(),
});
export type Worktree = z.infer<typeof Worktree>;

/** Reads files of the source commit in the Bare, before any worktree exists. */
export interface SourceReader {
  /** Names in a folder of the commit ([] when there is no such folder). */
  list(dir: string): Promise<string[]>;
  /** A file's text, or null when there is none. */
  read(path: string): Promise<string | null>;
}

/** How identify names a build: the label as it fits, the Store key, and the project's own names. */
export interface BuildName {
  label: string;
  version: string;
  store_key: string;
  /** kernelrelease and localversion for a kernel, the install prefix for QEMU. */
  names: Record<string, string>;
}

export interface IdentifyContext<I> {
  inputs: I;
  source: SourceTree;
  toolchain: Toolchain;
  worktree: Worktree;
}

export interface BuildProject<I extends { reuse: boolean; custom_label: boolean; label: string; shared: boolean }, M> {
  /** The Bare and worktree name: linux, qemu. */
  project: string;
  /** The first word of Store keys and of the identity index: kernel, qemu. */
  storeProject: string;
  /** The input field holding the ref, for messages: git_ref, qemu_ref. */
  refField: string;
  /** The library's build shell this project prefers: build-kernel, build-qemu. */
  shell: string;
  inputs: z.ZodType<I>;
  manifest: z.ZodType<M>;
  /** The ref to check out, or null when this build needs no source tree. */
  ref(inputs: I): string | null;
  /** Whether this build runs in the library's build shell. */
  needsToolchain(inputs: I): boolean;
  /** Checks against the source commit and the disk, before anything changes (InputErrors). */
  checkSource?(inputs: I, source: SourceReader): Promise<void>;
  /** Checks that need the build shell (a cross compiler, say). */
  checkToolchain?(inputs: I, toolchain: Toolchain): Promise<void>;
  /** What decides the output, read from the prepared (and, for a kernel, configured) tree, and the version it builds. */
  identify(ctx: IdentifyContext<I>, applied: Applied | null): Promise<{ parts: IdentityParts; version: string }>;
  /** Fit the label and give the build its names. */
  name(ctx: IdentifyContext<I>, n: { version: string; label: string; identity: string }): Promise<BuildName>;
}

/** What a project applied on top of the ref before identify (a b4 series), as apply_series returns it. */
export const Applied = z.object({
  applied: z.boolean(),
  cover_subject: z.string().nullable(),
});
export type Applied = z.infer<typeof Applied>;

/** The first step's result: every later step reads its inputs, source and toolchain from here. */
export function checkedSchema<I>(inputs: z.ZodType<I>) {
  return z.object({
    project: z.string(),
    inputs,
    source: SourceTree.nullable(),
    toolchain: Toolchain.nullable(),
  });
}
export interface Checked<I> {
  project: string;
  inputs: I;
  source: SourceTree | null;
  toolchain: Toolchain | null;
}

/** identify's result: the build's name, and the published manifest when it is reused. */
export function identifiedSchema<M>(manifest: z.ZodType<M>) {
  return z.object({
    reused: z.boolean(),
    manifest: manifest.nullable(),
    identity: z.string().regex(/^[0-9a-f]{12}$/),
    label: z.string().min(1),
    version: z.string().min(1),
    store_key: z.string().min(1),
    names: z.record(z.string(), z.string()),
  });
}
export interface Identified<M> {
  reused: boolean;
  manifest: M | null;
  identity: string;
  label: string;
  version: string;
  store_key: string;
  names: Record<string, string>;
}

/** What a project's own step reads: the checked inputs with their source and toolchain, and the worktree. */
export interface StepContext<I> {
  inputs: I;
  source: SourceTree;
  toolchain: z.infer<typeof Toolchain>;
  wt: Worktree;
}

/** Read check_inputs' and prepare_worktree's results in a project step (a wrong one is a wiring fault). */
export function readStepContext<I>(inputs: z.ZodType<I>, checked: unknown, worktree: unknown): StepContext<I> {
  const c = readResult(checkedSchema(inputs), checked, "check_inputs' result");
  if (!c.source || !c.toolchain) throw new WiringError("check_inputs' result", "this step builds from a source tree with a toolchain, and it has none");
  return { inputs: c.inputs, source: c.source, toolchain: c.toolchain, wt: readResult(Worktree, worktree, "prepare_worktree's result") };
}
