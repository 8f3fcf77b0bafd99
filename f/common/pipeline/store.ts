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
// next build, the store path is not. The tree also gets its own copy of it
// (nix-support/kdevflow-manifest.json, the store path written as @out@) before it goes
// into the store, so the store path says for good what it holds.
//
// The index is checked where it is read (lookupPublishedEntry): an entry that does not
// parse, points at a store path that is gone or holds another build, or disagrees with
// the store path's own manifest is repaired from that manifest (or dropped, and the
// build runs again), in one sentence on the log. verifyStoreIndex checks the whole
// index (the f/common/store_verify script). The decisions are in store_index.ts.

import { existsSync } from "node:fs";
import { lstat, readdir, readFile, readlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { symlinkAtomic, writeJsonAtomic } from "../atomic.ts";
import { checkName, systemPaths, workbenchLayout, type WorkbenchLayout } from "../layout.ts";
import { withLock } from "../lock.ts";
import { nixArgv, nixOptionsFromEnv, type NixOptions } from "../nix.ts";
import { isRunning } from "../proc.ts";
import { capture, run } from "../run.ts";
import { isIdentity } from "./identity.ts";
import {
  identityEntryName,
  isIdentityEntry,
  isOwnRecord,
  keysOf,
  OUT,
  OWN_MANIFEST,
  parseIdentityEntryName,
  planEntry,
  rebasePaths,
  type Action,
  type Candidate,
  type EntryObservation,
  type IdentityEntry,
  type OwnRecord,
  type Read,
} from "./store_index.ts";

export { rebasePaths, type IdentityEntry };

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

/** The lock that serialises writes to the index (publish, repairs, verify). */
export function indexLockPath(layout: WorkbenchLayout): string {
  return join(systemPaths.locks(layout), "store-index.lock");
}

/** Copy `tree` into the Nix store, root it, and record the manifest. Safe to re-run. */
export async function publish<M extends object>(req: PublishRequest<M>): Promise<Published<M>> {
  const key = checkStoreKey(req.key);
  const layout = req.layout ?? workbenchLayout();
  const paths = storePaths(layout, req.project, req.identity, key);
  if (!existsSync(req.tree)) throw new Error(`cannot publish ${key}: the install tree ${req.tree} does not exist`);
  const lock = join(systemPaths.locks(layout), `store-${key}.lock`);
  return withLock(lock, { what: `the Store entry ${key}` }, async () => {
    // The manifest with the store path still unknown (OUT), also kept inside the tree.
    const own = { ...rebasePaths(req.manifest, req.tree, OUT), ...(req.extra ? req.extra(OUT) : {}) } as M;
    // A tree that already is a store path (a package Nix built) is rooted as it is:
    // copying it with add-path would drop the references that keep its dependencies,
    // and it cannot hold a manifest of ours.
    if (!isStorePath(req.tree)) {
      const record: OwnRecord = { format: 1, project: req.project, identity: req.identity, key, manifest: own };
      await writeJsonAtomic(join(req.tree, OWN_MANIFEST), record);
    }
    const storePath = isStorePath(req.tree) ? req.tree : await capture(addPathArgv(req.tree, key));
    if (!isStorePath(storePath)) throw new Error(`nix store add-path printed an unexpected path: ${storePath}`);
    const manifest = rebasePaths(own, OUT, storePath);
    await withLock(indexLockPath(layout), { what: "the Store index" }, async () => {
      await symlinkAtomic(storePath, paths.link);
      await run(addRootArgv(storePath, paths.link), { quiet: true });
      await writeJsonAtomic(paths.manifest, manifest);
      await writeJsonAtomic(paths.byIdentity, { key, store_path: storePath, manifest });
    });
    console.log(`published ${key} -> ${storePath}`);
    return { storePath, key, paths, manifest };
  });
}

// ---- reading the index, checked ---------------------------------------------------

async function readJson(path: string): Promise<Read<unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return { state: "missing" };
  }
  try {
    return { state: "ok", value: JSON.parse(text) };
  } catch {
    return { state: "corrupt" };
  }
}

async function readTyped<T>(path: string, is: (v: unknown) => v is T): Promise<Read<T>> {
  const r = await readJson(path);
  if (r.state !== "ok") return r;
  return is(r.value) ? { state: "ok", value: r.value } : { state: "corrupt" };
}

async function readLinkOrNull(path: string): Promise<string | null> {
  try {
    return await readlink(path);
  } catch {
    return null;
  }
}

/** Every store-index/<key> link: key -> target. */
async function listLinks(layout: WorkbenchLayout): Promise<Map<string, string>> {
  const index = systemPaths.storeIndex(layout);
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(index);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name.startsWith(".")) continue;
    try {
      if (!(await lstat(join(index, name))).isSymbolicLink()) continue;
    } catch {
      continue;
    }
    const target = await readLinkOrNull(join(index, name));
    if (target) out.set(name, target);
  }
  return out;
}

/** What a linked store path holds, for every link whose path exists and holds its own manifest. */
async function linkedRecords(links: Map<string, string>): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const [key, storePath] of links) {
    if (!existsSync(storePath)) continue;
    const own = await readTyped(join(storePath, OWN_MANIFEST), isOwnRecord);
    if (own.state === "ok") out.push({ key, storePath, own: own.value });
  }
  return out;
}

async function observe(layout: WorkbenchLayout, project: string, identity: string, all?: Candidate[]): Promise<EntryObservation> {
  const index = systemPaths.storeIndex(layout);
  const byIdentity = await readTyped(identityIndexPath(layout, project, identity), isIdentityEntry);
  let target: EntryObservation["target"] = null;
  if (byIdentity.state === "ok") {
    const p = byIdentity.value.store_path;
    const exists = isStorePath(p) && existsSync(p);
    target = { exists, own: exists ? await readTyped(join(p, OWN_MANIFEST), isOwnRecord) : { state: "missing" } };
  }
  const obs: EntryObservation = { project, identity, byIdentity, target, links: {}, manifests: {} };
  if (all) obs.candidates = all.filter((c) => c.own.project === project && c.own.identity === identity);
  for (const key of keysOf(obs)) {
    obs.links[key] = await readLinkOrNull(join(index, key));
    obs.manifests[key] = await readJson(join(index, `${key}.json`));
  }
  return obs;
}

/** Observe and plan, looking through the linked store paths only when the entry cannot be trusted. */
async function planFor(layout: WorkbenchLayout, project: string, identity: string, all?: Candidate[]) {
  let obs = await observe(layout, project, identity, all);
  let plan = planEntry(obs);
  if (plan.needsCandidates) {
    obs = await observe(layout, project, identity, all ?? (await linkedRecords(await listLinks(layout))));
    plan = planEntry(obs);
  }
  if (plan.needsCandidates) throw new Error("store: the index plan asked for candidates twice");
  return plan;
}

async function apply(layout: WorkbenchLayout, project: string, identity: string, actions: readonly Action[]): Promise<void> {
  const index = systemPaths.storeIndex(layout);
  for (const a of actions) {
    switch (a.kind) {
      case "write-identity":
        await writeJsonAtomic(identityIndexPath(layout, project, identity), a.entry);
        break;
      case "write-manifest":
        await writeJsonAtomic(join(index, `${checkStoreKey(a.key)}.json`), a.manifest);
        break;
      case "link": {
        const link = join(index, checkStoreKey(a.key));
        await symlinkAtomic(a.storePath, link);
        await run(addRootArgv(a.storePath, link), { quiet: true });
        break;
      }
      case "remove-identity":
        await rm(identityIndexPath(layout, project, identity), { force: true });
        break;
      case "remove-key":
        await rm(join(index, checkStoreKey(a.key)), { force: true });
        await rm(join(index, `${a.key}.json`), { force: true });
        break;
    }
  }
}

/**
 * The published entry for a project's identity, or null when it was never published or
 * its store path is gone. Checked against the store path's own manifest: what is wrong
 * is repaired (or the entry dropped) under the index lock, and said in one sentence.
 * The caller validates the manifest with its own schema.
 */
export async function lookupPublishedEntry(project: string, identity: string, layout: WorkbenchLayout = workbenchLayout()): Promise<IdentityEntry | null> {
  identityIndexPath(layout, project, identity); // checks project and identity
  const first = await planFor(layout, project, identity);
  if (first.needsCandidates) return null;
  if (first.actions.length === 0) return first.entry;
  // Something to repair: look again under the lock (a publish may have been half-way).
  return withLock(indexLockPath(layout), { what: "the Store index" }, async () => {
    const plan = await planFor(layout, project, identity);
    if (plan.needsCandidates) return null;
    if (plan.actions.length) {
      await apply(layout, project, identity, plan.actions);
      if (plan.sentence) console.log(plan.sentence);
    }
    return plan.entry;
  });
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

// ---- the whole index ---------------------------------------------------------------

export interface VerifyReport {
  /** Identity entries checked (the index's and those only a linked store path names). */
  checked: number;
  /** One sentence per repair made (or, with dryRun, that would be made). */
  repairs: string[];
}

const TEMP_FILE = /^\..+\.tmp-(\d+)-[a-z0-9]+$/;

/**
 * Check every entry of the Store index against the store paths' own manifests and
 * repair what is wrong; remove links to store paths that are gone, manifests without a
 * link, and temporary files of writers that died. Under the index lock.
 */
export async function verifyStoreIndex(opts: { layout?: WorkbenchLayout; dryRun?: boolean } = {}): Promise<VerifyReport> {
  const layout = opts.layout ?? workbenchLayout();
  const index = systemPaths.storeIndex(layout);
  if (!existsSync(index)) return { checked: 0, repairs: [] };
  return withLock(indexLockPath(layout), { what: "the Store index" }, async () => {
    const repairs: string[] = [];
    const say = (s: string) => repairs.push(opts.dryRun ? s.replace(/^store: /, "store (dry run, nothing changed): ") : s);
    const links = await listLinks(layout);
    const all = await linkedRecords(links);
    const ids = new Map<string, { project: string; identity: string }>();
    let byNames: string[] = [];
    try {
      byNames = await readdir(join(index, "by-identity"));
    } catch {
      /* none yet */
    }
    for (const name of byNames) {
      const id = parseIdentityEntryName(name);
      if (id) ids.set(`${id.project}-${id.identity}`, id);
    }
    for (const c of all) ids.set(`${c.own.project}-${c.own.identity}`, { project: c.own.project, identity: c.own.identity });
    const used = new Set<string>();
    for (const { project, identity } of [...ids.values()].sort((a, b) => `${a.project}-${a.identity}`.localeCompare(`${b.project}-${b.identity}`))) {
      const plan = await planFor(layout, project, identity, all);
      if (plan.needsCandidates) continue;
      if (plan.sentence) say(plan.sentence);
      if (!opts.dryRun && plan.actions.length) await apply(layout, project, identity, plan.actions);
      if (plan.entry) used.add(plan.entry.key);
      for (const a of plan.actions) if (a.kind === "remove-key") used.add(a.key);
    }
    // Links no entry uses, to store paths that are gone.
    for (const [key, target] of links) {
      if (used.has(key) || existsSync(target)) continue;
      say(`store: the link ${key} points at ${target}, which is gone; removed it and ${key}.json`);
      if (!opts.dryRun) {
        await rm(join(index, key), { force: true });
        await rm(join(index, `${key}.json`), { force: true });
      }
    }
    for (const name of await readdir(index)) {
      const path = join(index, name);
      const tmp = TEMP_FILE.exec(name);
      if (tmp && !isRunning(Number(tmp[1]))) {
        say(`store: ${name} is a temporary file of a writer that died; removed it`);
        if (!opts.dryRun) await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith(".json") || name.startsWith(".")) continue;
      const key = name.slice(0, -".json".length);
      if (links.has(key)) continue;
      say(`store: ${name} has no link ${key} beside it; removed it`);
      if (!opts.dryRun) await rm(path, { force: true });
    }
    return { checked: ids.size, repairs };
  });
}
