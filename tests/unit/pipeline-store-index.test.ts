// What a Store index entry should say, decided from what is on disk (store_index.ts,
// pure): every way an entry can be wrong gives one sentence and the writes that make it
// right again, from the store path's own manifest when it has one; a clean entry gives
// nothing to do.

import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  identityEntryName,
  OUT,
  parseIdentityEntryName,
  planEntry,
  rebasePaths,
  type Candidate,
  type EntryObservation,
  type OwnRecord,
} from "../../f/common/pipeline/store_index.ts";

const ID = "0123456789ab";
const KEY = `kernel-6.1.0-vanilla-${ID}`;
const SP = `/nix/store/${"a".repeat(32)}-${KEY}`;
const OTHER_SP = `/nix/store/${"b".repeat(32)}-${KEY}`;
const own: OwnRecord = {
  format: 1,
  project: "linux",
  identity: ID,
  key: KEY,
  manifest: { kind: "kernel", image: `${OUT}/boot/vmlinuz`, store_path: OUT, identity: ID },
};
const manifest = { kind: "kernel", image: `${SP}/boot/vmlinuz`, store_path: SP, identity: ID };
const entry = { key: KEY, store_path: SP, manifest };

/** A clean observation, changed by `over`. */
function obs(over: Partial<EntryObservation> = {}): EntryObservation {
  return {
    project: "linux",
    identity: ID,
    byIdentity: { state: "ok", value: entry },
    target: { exists: true, own: { state: "ok", value: own } },
    links: { [KEY]: SP },
    manifests: { [KEY]: { state: "ok", value: manifest } },
    ...over,
  };
}

function done(plan: ReturnType<typeof planEntry>) {
  if (plan.needsCandidates) throw new Error("the plan asked for candidates");
  return plan;
}

describe("planEntry", () => {
  it("has nothing to do for a clean entry, and trusts it", () => {
    expect(done(planEntry(obs()))).toEqual({ needsCandidates: false, entry, actions: [], sentence: null });
    // Key order does not matter.
    const reordered = { store_path: SP, identity: ID, image: `${SP}/boot/vmlinuz`, kind: "kernel" };
    expect(done(planEntry(obs({ manifests: { [KEY]: { state: "ok", value: reordered } } }))).actions).toEqual([]);
  });

  it("rewrites a published manifest that does not parse, from the store path's own manifest", () => {
    const plan = done(planEntry(obs({ manifests: { [KEY]: { state: "corrupt" } } })));
    expect(plan.entry).toEqual(entry);
    expect(plan.actions).toEqual([{ kind: "write-manifest", key: KEY, manifest }]);
    expect(plan.sentence).toBe(`store: ${KEY}.json does not parse; repaired from the manifest in ${SP}`);
  });

  it("rewrites a published manifest that says something else", () => {
    const plan = done(planEntry(obs({ manifests: { [KEY]: { state: "ok", value: { ...manifest, image: "/elsewhere" } } } })));
    expect(plan.actions).toEqual([{ kind: "write-manifest", key: KEY, manifest }]);
    expect(plan.sentence).toBe(`store: ${KEY}.json held another manifest than the manifest in ${SP}; repaired from the manifest in ${SP}`);
  });

  it("asks for the linked store paths when the identity entry does not parse, then rebuilds it from the one that holds the build", () => {
    const broken = obs({ byIdentity: { state: "corrupt" }, target: null });
    expect(planEntry(broken)).toEqual({ needsCandidates: true });
    const cand: Candidate = { key: KEY, storePath: SP, own };
    const plan = done(planEntry({ ...broken, candidates: [cand] }));
    expect(plan.entry).toEqual(entry);
    expect(plan.actions).toEqual([{ kind: "write-identity", entry }]);
    expect(plan.sentence).toBe(`store: ${identityEntryName("linux", ID)} does not parse; repaired from the manifest in ${SP}`);
  });

  it("drops an identity entry that does not parse when no store path holds the build, and says the build runs again", () => {
    const plan = done(planEntry(obs({ byIdentity: { state: "corrupt" }, target: null, candidates: [] })));
    expect(plan.entry).toBeNull();
    expect(plan.actions).toEqual([{ kind: "remove-identity" }]);
    expect(plan.sentence).toBe(`store: ${identityEntryName("linux", ID)} does not parse; no store path holds that build, so the entry was dropped and the build runs again`);
  });

  it("drops an entry whose store path is gone, with its link to it", () => {
    const plan = done(planEntry(obs({ target: { exists: false, own: { state: "missing" } }, candidates: [] })));
    expect(plan.entry).toBeNull();
    expect(plan.actions).toEqual([{ kind: "remove-identity" }, { kind: "remove-key", key: KEY }]);
    expect(plan.sentence).toMatch(new RegExp(`^store: ${identityEntryName("linux", ID)} points at ${SP}, which is gone; no store path holds that build`));
  });

  it("points an entry whose store path holds another build at the one that holds this build", () => {
    const stranger: OwnRecord = { ...own, identity: "ffffffffffff", key: "kernel-other" };
    const cand: Candidate = { key: KEY, storePath: OTHER_SP, own };
    const first = planEntry(obs({ target: { exists: true, own: { state: "ok", value: stranger } } }));
    expect(first).toEqual({ needsCandidates: true });
    const plan = done(planEntry(obs({ target: { exists: true, own: { state: "ok", value: stranger } }, candidates: [cand], links: { [KEY]: OTHER_SP } })));
    const fixed = rebasePaths(own.manifest, OUT, OTHER_SP);
    expect(plan.entry).toEqual({ key: KEY, store_path: OTHER_SP, manifest: fixed });
    expect(plan.actions).toEqual([
      { kind: "write-identity", entry: { key: KEY, store_path: OTHER_SP, manifest: fixed } },
      { kind: "write-manifest", key: KEY, manifest: fixed },
    ]);
    expect(plan.sentence).toMatch(/points at .* which holds another build \(kernel-other\)/);
  });

  it("rewrites an identity entry that disagrees with its store path, and re-links a missing or wrong link", () => {
    const plan = done(planEntry(obs({ byIdentity: { state: "ok", value: { ...entry, manifest: { ...manifest, identity: "x" } } }, links: { [KEY]: null } })));
    expect(plan.actions).toEqual([
      { kind: "write-identity", entry },
      { kind: "link", key: KEY, storePath: SP },
    ]);
    expect(plan.sentence).toBe(`store: ${identityEntryName("linux", ID)} held another manifest than the one in ${SP}; the link ${KEY} was missing; repaired from the manifest in ${SP}`);
  });

  it("re-indexes a build a linked store path holds when its identity entry is missing, and is silent when nothing holds it", () => {
    const missing = obs({ byIdentity: { state: "missing" }, target: null });
    expect(planEntry(missing)).toEqual({ needsCandidates: true });
    expect(done(planEntry({ ...missing, candidates: [] }))).toEqual({ needsCandidates: false, entry: null, actions: [], sentence: null });
    const plan = done(planEntry({ ...missing, candidates: [{ key: KEY, storePath: SP, own }] }));
    expect(plan.actions).toEqual([{ kind: "write-identity", entry }]);
    expect(plan.sentence).toBe(`store: linux identity ${ID} had no entry in the index but ${SP} holds it; repaired from the manifest in ${SP}`);
  });

  it("trusts the identity entry of a store path without its own manifest (published before it, or a Nix package) and mends the rest from it", () => {
    const plan = done(planEntry(obs({ target: { exists: true, own: { state: "missing" } }, manifests: { [KEY]: { state: "corrupt" } } })));
    expect(plan.entry).toEqual(entry);
    expect(plan.actions).toEqual([{ kind: "write-manifest", key: KEY, manifest }]);
    expect(plan.sentence).toBe(`store: ${KEY}.json does not parse; repaired from ${identityEntryName("linux", ID)}`);
  });
});

describe("helpers", () => {
  it("rebases paths in strings, exactly or below, and leaves others", () => {
    expect(rebasePaths({ a: "/t", b: "/t/x", c: "/tx", d: ["/t/y", 1] }, "/t/", "/s")).toEqual({ a: "/s", b: "/s/x", c: "/tx", d: ["/s/y", 1] });
  });

  it("writes equal values as equal text whatever their key order", () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  });

  it("reads project and identity back from an entry's file name", () => {
    expect(parseIdentityEntryName(`qemu-${ID}.json`)).toEqual({ project: "qemu", identity: ID });
    expect(parseIdentityEntryName(`my-proj-${ID}.json`)).toEqual({ project: "my-proj", identity: ID });
    expect(parseIdentityEntryName("notes.txt")).toBeNull();
  });
});
