// The Store: published build outputs, shared by the kernel and QEMU builds.
//
// Publishing copies an install tree into the Nix store under a store key
// (`nix store add-path --name <key>`, which Nix 2.8 and current Nix both have),
// points SYSTEM_DIR/store-index/<key> at the store path and registers that link as an
// indirect GC root (`nix-store --realise <path> --add-root <link> --indirect`, which
// works as root without a daemon), so nix-collect-garbage keeps it. Beside the link go
// the published manifest (store-index/<key>.json) and an index by identity
// (store-index/by-identity/<project>-<identity>.json), so a build can ask "is this
// identity published?" once its identity is known, before it compiles anything.
//
// The published manifest is the build's manifest with every path that pointed into the
// install tree rebased into the store path: the worktree's destdir is rewritten by the
// next build, the store path is not.

import { existsSync } from "node:fs";
import { readFile, readlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { symlinkAtomic, writeJsonAtomic } from "../atomic.ts";
import { checkName, systemPaths, workbenchLayout, type WorkbenchLayout } from "../layout.ts";
import { withLock } from "../lock.ts";
import { nixArgv, nixOptionsFromEnv, type NixOptions } from "../nix.ts";
import { capture, run } from "../run.ts";
import { isIdentity } from "./identity.ts";

/** Characters Nix allows in a store path name, and its length limit. */
const STORE_NAME = /^[A-Za-z0-9+\-._?=]+$/;
const STORE_NAME_MAX = 211;

export function checkStoreKey(key: string): string {
  if (!STORE_NAME.test(key) || key.length > STORE_NAME_MAX || key.startsWith(".")) {
    throw new Error(`not a valid Nix store name: ${JSON.stringify(key)}`);
  }
  return key;
}

export interface StorePaths {
  index: string;
  link: string;
  manifest: string;
  byIdentity: string;
}

/** Where a key's link, manifest and identity index live. Pure. */
export function storePaths(layout: WorkbenchLayout, project: string, identity: string, key: string): StorePaths {
  const index = systemPaths.storeIndex(layout);
  return {
    index,
    link: join(index, key),
    manifest: join(index, `${key}.json`),
    byIdentity: identityIndexPath(layout, project, identity),
  };
}

export function identityIndexPath(layout: WorkbenchLayout, project: string, identity: string): string {
  checkName("project", project);
  if (!isIdentity(identity)) throw new Error(`not a build identity: ${JSON.stringify(identity)}`);
  return join(systemPaths.storeIndex(layout), "by-identity", `${project}-${identity}.json`);
}

/** A top-level Nix store path (/nix/store/<hash>-<name>), not a path inside one. */
export function isStorePath(path: string): boolean {
  return /^\/nix\/store\/[0-9a-z]{32}-[^/]+$/.test(path);
}

/** `nix store add-path --name <key> <tree>` */
export function addPathArgv(tree: string, key: string, options: NixOptions = nixOptionsFromEnv()): string[] {
  return nixArgv(["store", "add-path", "--name", checkStoreKey(key), tree], options);
}

/** `nix-store --realise <path> --add-root <link> --indirect`: makes `link` a GC root. */
export function addRootArgv(storePath: string, link: string, options: NixOptions = nixOptionsFromEnv()): string[] {
  const argv = ["nix-store"];
  for (const [k, v] of Object.entries(options)) argv.push("--option", k, v);
  return [...argv, "--realise", storePath, "--add-root", link, "--indirect"];
}

/**
 * Replace the `from` directory prefix by `to` in every string of a JSON-like value
 * (an exact match or a path below it). Pure.
 */
export function rebasePaths<T>(value: T, from: string, to: string): T {
  const prefix = from.replace(/\/+$/, "");
  const visit = (v: unknown): unknown => {
    if (typeof v === "string") {
      if (v === prefix) return to;
      if (v.startsWith(`${prefix}/`)) return `${to}${v.slice(prefix.length)}`;
      return v;
    }
    if (Array.isArray(v)) return v.map(visit);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
    return v;
  };
  return visit(value) as T;
}

export interface PublishRequest<M> {
  /** Defaults to workbenchLayout() from the environment. */
  layout?: WorkbenchLayout;
  project: string;
  identity: string;
  /** The store key, e.g. `kernel-<kernelrelease>` or `qemu-<version>-<label>-<identity>`. */
  key: string;
  /** The install tree to copy into the store (a store path already there is rooted as it is). */
  tree: string;
  /** The manifest as built; its paths under `tree` are rebased into the store path. */
  manifest: M;
  /** Fields set on the published manifest (e.g. {store_path}) given the store path. */
  extra?: (storePath: string) => Partial<M>;
}

export interface Published<M> {
  storePath: string;
  key: string;
  paths: StorePaths;
  manifest: M;
}

/** Copy `tree` into the Nix store, root it, and record the manifest. Safe to re-run. */
export async function publish<M extends object>(req: PublishRequest<M>): Promise<Published<M>> {
  const key = checkStoreKey(req.key);
  const layout = req.layout ?? workbenchLayout();
  const paths = storePaths(layout, req.project, req.identity, key);
  if (!existsSync(req.tree)) throw new Error(`cannot publish ${key}: the install tree ${req.tree} does not exist`);
  const lock = join(systemPaths.locks(layout), `store-${key}.lock`);
  return withLock(lock, { what: `the Store entry ${key}` }, async () => {
    // A tree that already is a store path (a package Nix built) is rooted as it is:
    // copying it with add-path would drop the references that keep its dependencies.
    const storePath = isStorePath(req.tree) ? req.tree : await capture(addPathArgv(req.tree, key));
    if (!isStorePath(storePath)) throw new Error(`nix store add-path printed an unexpected path: ${storePath}`);
    await symlinkAtomic(storePath, paths.link);
    await run(addRootArgv(storePath, paths.link), { quiet: true });
    const rebased = rebasePaths(req.manifest, req.tree, storePath);
    const manifest = { ...rebased, ...(req.extra ? req.extra(storePath) : {}) } as M;
    await writeJsonAtomic(paths.manifest, manifest);
    await writeJsonAtomic(paths.byIdentity, { key, store_path: storePath, manifest });
    console.log(`published ${key} -> ${storePath}`);
    return { storePath, key, paths, manifest };
  });
}

export interface IdentityEntry {
  key: string;
  store_path: string;
  manifest: unknown;
}

/**
 * The published manifest for a project's identity, or null when it was never published
 * or its store path is gone (collected, or the link was removed). The caller validates
 * the manifest with its own schema.
 */
export async function lookupPublishedEntry(project: string, identity: string, layout: WorkbenchLayout = workbenchLayout()): Promise<IdentityEntry | null> {
  const path = identityIndexPath(layout, project, identity);
  let entry: IdentityEntry;
  try {
    entry = JSON.parse(await readFile(path, "utf8")) as IdentityEntry;
  } catch {
    return null;
  }
  if (!entry || typeof entry.store_path !== "string" || typeof entry.key !== "string") return null;
  if (!existsSync(entry.store_path)) return null;
  const link = join(systemPaths.storeIndex(layout), entry.key);
  try {
    if ((await readlink(link)) !== entry.store_path) return null;
  } catch {
    return null;
  }
  return entry;
}

/** The published manifest for a project's identity (unvalidated), or null. */
export async function lookupPublished(project: string, identity: string, layout: WorkbenchLayout = workbenchLayout()): Promise<unknown | null> {
  return (await lookupPublishedEntry(project, identity, layout))?.manifest ?? null;
}

/** Forget a published identity (the store path stays until Nix collects it). */
export async function unpublish(project: string, identity: string, layout: WorkbenchLayout = workbenchLayout()): Promise<void> {
  const entry = await lookupPublishedEntry(project, identity, layout);
  await rm(identityIndexPath(layout, project, identity), { force: true });
  if (entry) {
    const paths = storePaths(layout, project, identity, entry.key);
    await rm(paths.link, { force: true });
    await rm(paths.manifest, { force: true });
  }
}
