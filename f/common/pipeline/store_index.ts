// The Store index, checked: what an index entry should say, decided from what is on
// disk. Pure: store.ts reads the files into an observation, asks planEntry what is
// wrong and what to write, and applies the plan under the index lock.
//
// What the index holds (see store.ts): SYSTEM_DIR/store-index/<key> (a GC-root link to
// the store path), <key>.json (the published manifest) and by-identity/<project>-
// <identity>.json ({key, store_path, manifest}). What the truth is: the store path's own
// manifest, nix-support/kdevflow-manifest.json inside it, written into the tree before
// it was added to the store (so it cannot change afterwards), with the store path
// written as OUT. A store path without one (published before it existed, or a Nix
// package rooted as it is) is trusted as the identity index describes it.

/** Where a published tree keeps its own manifest. */
export const OWN_MANIFEST = "nix-support/kdevflow-manifest.json";
/** Stands for the store path in an own manifest (the path is known only once it is added). */
export const OUT = "@out@";

export interface OwnRecord {
  format: 1;
  project: string;
  identity: string;
  key: string;
  /** The published manifest with the store path written as OUT. */
  manifest: unknown;
}

export interface IdentityEntry {
  key: string;
  store_path: string;
  manifest: unknown;
}

export type Read<T> = { state: "missing" } | { state: "corrupt" } | { state: "ok"; value: T };

/** A store path the index links to, and what it holds. */
export interface Candidate {
  key: string;
  storePath: string;
  own: OwnRecord;
}

export interface EntryObservation {
  project: string;
  identity: string;
  byIdentity: Read<IdentityEntry>;
  /** The entry's store path, when the entry parsed: does it exist, what does it hold. */
  target: { exists: boolean; own: Read<OwnRecord> } | null;
  /** store-index/<key> -> its target (null: no link), for every key the plan may use. */
  links: Record<string, string | null>;
  /** store-index/<key>.json, for every key the plan may use. */
  manifests: Record<string, Read<unknown>>;
  /** Linked store paths whose own manifest names this project and identity (undefined: not looked for yet). */
  candidates?: Candidate[];
}

export type Action =
  | { kind: "write-identity"; entry: IdentityEntry }
  | { kind: "write-manifest"; key: string; manifest: unknown }
  | { kind: "link"; key: string; storePath: string }
  | { kind: "remove-identity" }
  | { kind: "remove-key"; key: string };

export type EntryPlan =
  | { needsCandidates: true }
  | {
      needsCandidates: false;
      /** The entry to trust after the actions, or null: not published (any more). */
      entry: IdentityEntry | null;
      actions: Action[];
      /** One sentence saying what was wrong and what was done, or null when all was well. */
      sentence: string | null;
    };

/** Replace the `from` directory prefix by `to` in every string of a JSON-like value. Pure. */
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

/** JSON with object keys sorted: equal values give equal text. Pure. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value));
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** Is this parsed JSON an identity entry? Pure. */
export function isIdentityEntry(v: unknown): v is IdentityEntry {
  const e = v as IdentityEntry | null;
  return !!e && typeof e === "object" && typeof e.key === "string" && typeof e.store_path === "string" && "manifest" in e && !!e.manifest && typeof e.manifest === "object";
}

/** Is this parsed JSON an own manifest? Pure. */
export function isOwnRecord(v: unknown): v is OwnRecord {
  const r = v as OwnRecord | null;
  return !!r && typeof r === "object" && r.format === 1 && typeof r.project === "string" && typeof r.identity === "string" && typeof r.key === "string" && !!r.manifest && typeof r.manifest === "object";
}

/** The file name of an identity's entry, relative to store-index/. Pure. */
export function identityEntryName(project: string, identity: string): string {
  return `by-identity/${project}-${identity}.json`;
}

/** project and identity from a by-identity file name (`linux-0123456789ab.json`). Pure. */
export function parseIdentityEntryName(name: string): { project: string; identity: string } | null {
  const m = /^(.+)-([0-9a-f]{12})\.json$/.exec(name);
  return m ? { project: m[1]!, identity: m[2]! } : null;
}

interface Truth {
  key: string;
  storePath: string;
  manifest: unknown;
  /** Where the manifest came from, for the sentence. */
  from: string;
}

function fromOwn(own: OwnRecord, storePath: string): Truth {
  return { key: own.key, storePath, manifest: rebasePaths(own.manifest, OUT, storePath), from: `the manifest in ${storePath}` };
}

/**
 * What the entry of (project, identity) should be, and what to write so the index says
 * it. Returns {needsCandidates} when the entry cannot be trusted and the linked store
 * paths have not been looked through yet. Pure.
 */
export function planEntry(obs: EntryObservation): EntryPlan {
  const rel = identityEntryName(obs.project, obs.identity);
  const problems: string[] = [];
  const by = obs.byIdentity;
  let truth: Truth | null = null;

  if (by.state === "ok") {
    const e = by.value;
    const t = obs.target;
    if (!t || !t.exists) problems.push(`${rel} points at ${e.store_path}, which is gone`);
    else if (t.own.state === "ok") {
      const own = t.own.value;
      if (own.project === obs.project && own.identity === obs.identity) {
        truth = fromOwn(own, e.store_path);
        if (e.key !== truth.key || !same(e.manifest, truth.manifest)) problems.push(`${rel} held another manifest than the one in ${e.store_path}`);
      } else {
        problems.push(`${rel} points at ${e.store_path}, which holds another build (${own.key})`);
      }
    } else {
      // Published before store paths held their own manifest, or a Nix package rooted as it is.
      truth = { key: e.key, storePath: e.store_path, manifest: e.manifest, from: rel };
    }
  } else if (by.state === "corrupt") {
    problems.push(`${rel} does not parse`);
  }

  if (!truth) {
    if (obs.candidates === undefined) return { needsCandidates: true };
    const previousKey = by.state === "ok" ? by.value.key : null;
    const cand = obs.candidates.find((c) => c.key === previousKey) ?? [...obs.candidates].sort((a, b) => a.key.localeCompare(b.key))[0];
    if (cand) {
      truth = fromOwn(cand.own, cand.storePath);
      if (by.state === "missing") problems.push(`${obs.project} identity ${obs.identity} had no entry in the index but ${cand.storePath} holds it`);
    } else if (by.state === "missing") {
      return { needsCandidates: false, entry: null, actions: [], sentence: null };
    } else {
      const actions: Action[] = [{ kind: "remove-identity" }];
      if (by.state === "ok") {
        const e = by.value;
        const link = obs.links[e.key];
        // Its link goes too when it leads to the same gone (or wrong) path; a link to something else stays.
        if (link === e.store_path) actions.push({ kind: "remove-key", key: e.key });
      }
      return { needsCandidates: false, entry: null, actions, sentence: `store: ${problems.join("; ")}; no store path holds that build, so the entry was dropped and the build runs again` };
    }
  }

  const entry: IdentityEntry = { key: truth.key, store_path: truth.storePath, manifest: truth.manifest };
  const actions: Action[] = [];
  if (by.state !== "ok" || !same(by.value, entry)) actions.push({ kind: "write-identity", entry });
  const link = obs.links[truth.key] ?? null;
  if (link !== truth.storePath) {
    problems.push(link === null ? `the link ${truth.key} was missing` : `the link ${truth.key} pointed at ${link}`);
    actions.push({ kind: "link", key: truth.key, storePath: truth.storePath });
  }
  const published = obs.manifests[truth.key] ?? { state: "missing" };
  if (published.state !== "ok") {
    problems.push(`${truth.key}.json ${published.state === "missing" ? "was missing" : "does not parse"}`);
    actions.push({ kind: "write-manifest", key: truth.key, manifest: truth.manifest });
  } else if (!same(published.value, truth.manifest)) {
    problems.push(`${truth.key}.json held another manifest than ${truth.from}`);
    actions.push({ kind: "write-manifest", key: truth.key, manifest: truth.manifest });
  }
  if (actions.length === 0) return { needsCandidates: false, entry, actions, sentence: null };
  const sentence = problems.length
    ? `store: ${problems.join("; ")}; repaired from ${truth.from}`
    : `store: ${rel} was out of date; repaired from ${truth.from}`;
  return { needsCandidates: false, entry, actions, sentence };
}

/** The keys a plan may read links and manifests of, given the entry and the candidates. Pure. */
export function keysOf(obs: Pick<EntryObservation, "byIdentity" | "target" | "candidates">): string[] {
  const keys = new Set<string>();
  if (obs.byIdentity.state === "ok") keys.add(obs.byIdentity.value.key);
  if (obs.target?.own.state === "ok") keys.add(obs.target.own.value.key);
  for (const c of obs.candidates ?? []) keys.add(c.key);
  return [...keys];
}
