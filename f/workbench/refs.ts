// Pure logic about git refs: reading `git for-each-ref` output, what changed between
// two snapshots, which refs a user's ref may mean, and which refs are close to a
// misspelt one. Nothing here runs git; the callers in mirror.ts, bare.ts and
// worktree.ts feed it git's output.

/** refname -> object id (for an annotated tag: the commit it peels to). */
export type RefMap = Map<string, string>;

/** The format string for `git for-each-ref` that parseRefList reads. */
export const REF_LIST_FORMAT = "%(objectname) %(*objectname) %(refname)";

/**
 * Parse `git for-each-ref --format=REF_LIST_FORMAT`: one ref a line, the object id, the
 * peeled id (empty unless an annotated tag) and the ref name. Annotated tags map to the
 * object they peel to, so a tag and a branch at one commit compare equal.
 */
export function parseRefList(text: string): RefMap {
  const refs: RefMap = new Map();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const parts = line.split(" ");
    if (parts.length === 3) {
      const [oid, peeled, name] = parts as [string, string, string];
      refs.set(name, peeled || oid);
    } else if (parts.length === 2) {
      // A listing made without %(*objectname): "<oid> <name>".
      refs.set(parts[1]!, parts[0]!);
    }
  }
  return refs;
}

export interface RefChanges {
  new: string[];
  updated: string[];
  deleted: string[];
  /** True when a list was cut at `limit` names (counts stay exact). */
  truncated: boolean;
  counts: { new: number; updated: number; deleted: number };
}

/** What changed from `before` to `after`, ref names sorted, each list cut at `limit`. */
export function diffRefs(before: RefMap, after: RefMap, limit = 200): RefChanges {
  const added: string[] = [];
  const updated: string[] = [];
  const deleted: string[] = [];
  for (const [name, oid] of after) {
    const was = before.get(name);
    if (was === undefined) added.push(name);
    else if (was !== oid) updated.push(name);
  }
  for (const name of before.keys()) if (!after.has(name)) deleted.push(name);
  const cut = (list: string[]) => list.sort().slice(0, limit);
  return {
    new: cut(added),
    updated: cut(updated),
    deleted: cut(deleted),
    truncated: added.length > limit || updated.length > limit || deleted.length > limit,
    counts: { new: added.length, updated: updated.length, deleted: deleted.length },
  };
}

/** Keep only the refs under one of the prefixes (e.g. what a fetch manages). */
export function filterRefs(refs: RefMap, prefixes: readonly string[]): RefMap {
  return new Map([...refs].filter(([name]) => prefixes.some((p) => name.startsWith(p))));
}

const HEX = /^[0-9a-f]+$/i;

/** A ref the user may type: no whitespace, no control characters, no leading '-'. */
export function checkRefSyntax(ref: string): string | null {
  if (typeof ref !== "string" || ref.length === 0) return "a non-empty ref";
  if (ref.length > 255) return "a ref of at most 255 characters";
  if (ref.startsWith("-")) return "a ref that does not start with '-'";
  // Everything git check-ref-format refuses anywhere in a name, plus '@{' and '..'.
  if (/[\s\x00-\x1f\x7f~^:?*[\\]/.test(ref) || ref.includes("..") || ref.includes("@{") || ref.endsWith(".lock") || ref.endsWith("/") || ref.endsWith(".") || ref.includes("//")) {
    return "a tag, branch, mirror/<branch> or commit id (no spaces, '~', '^', ':', '?', '*', '[', '\\', '..' or '@{')";
  }
  return null;
}

/**
 * The full ref names a user's ref may mean, in the order they win: a tag, a developer
 * branch (refs/heads), `mirror/<branch>` for an upstream branch, and finally an upstream
 * branch by its bare name. Commit ids are tried after all of these (see isHexPrefix).
 */
export function refCandidates(ref: string): string[] {
  if (ref.startsWith("refs/")) return [ref];
  const out = [`refs/tags/${ref}`, `refs/heads/${ref}`];
  if (ref.startsWith("mirror/")) out.push(`refs/remotes/${ref}`);
  else out.push(`refs/remotes/mirror/${ref}`);
  return out;
}

/** True when `ref` could be a full or abbreviated commit id (4 to 40 hex digits). */
export function isHexPrefix(ref: string): boolean {
  return ref.length >= 4 && ref.length <= 40 && HEX.test(ref);
}

/** The first candidate of `ref` present in `refs`, with the object it names. */
export function resolveNamedRef(ref: string, refs: RefMap): { refname: string; oid: string } | null {
  for (const refname of refCandidates(ref)) {
    const oid = refs.get(refname);
    if (oid) return { refname, oid };
  }
  return null;
}

/** The name a user would type for a full ref name. */
export function shortRefName(refname: string): string {
  if (refname.startsWith("refs/tags/")) return refname.slice("refs/tags/".length);
  if (refname.startsWith("refs/heads/")) return refname.slice("refs/heads/".length);
  if (refname.startsWith("refs/remotes/")) return refname.slice("refs/remotes/".length);
  return refname;
}

/** Levenshtein distance, with an early exit once every entry of a row exceeds `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Up to `limit` ref names (as a user would type them) close to `ref`: names that start
 * with it or that it starts with, and names within a small edit distance, nearest
 * first. Used to say which refs were probably meant when a ref is not in the Bare.
 */
export function closeRefs(ref: string, refs: Iterable<string>, limit = 5): string[] {
  const wanted = ref.startsWith("refs/") ? shortRefName(ref) : ref;
  const max = Math.max(2, Math.floor(wanted.length / 4));
  const scored: { name: string; score: number }[] = [];
  const seen = new Set<string>();
  for (const refname of refs) {
    const name = shortRefName(refname);
    if (seen.has(name) || name === "mirror/HEAD") continue;
    seen.add(name);
    const bare = name.startsWith("mirror/") ? name.slice("mirror/".length) : name;
    let score = Math.min(editDistance(wanted, name, max), editDistance(wanted, bare, max));
    if (score > max) {
      const prefix = name.startsWith(wanted) || bare.startsWith(wanted) || wanted.startsWith(bare);
      if (!prefix || wanted.length < 2) continue;
      score = max + Math.abs(bare.length - wanted.length) / 100;
    }
    scored.push({ name, score });
  }
  scored.sort((x, y) => x.score - y.score || x.name.length - y.name.length || (x.name < y.name ? -1 : 1));
  return scored.slice(0, limit).map((s) => s.name);
}
