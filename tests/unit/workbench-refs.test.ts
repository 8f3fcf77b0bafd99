import { describe, expect, it } from "vitest";
import {
  checkRefSyntax,
  closeRefs,
  diffRefs,
  editDistance,
  filterRefs,
  isHexPrefix,
  parseRefList,
  refCandidates,
  resolveNamedRef,
  shortRefName,
} from "../../f/workbench/refs.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const T = "d".repeat(40);

describe("parseRefList", () => {
  it("reads branches, lightweight tags and peels annotated tags to their commit", () => {
    const text = [`${A}  refs/heads/master`, `${B}  refs/tags/v1`, `${T} ${C} refs/tags/v2`, ""].join("\n");
    expect([...parseRefList(text)]).toEqual([
      ["refs/heads/master", A],
      ["refs/tags/v1", B],
      ["refs/tags/v2", C],
    ]);
  });
  it("reads a listing without the peeled column and ignores blank lines", () => {
    expect([...parseRefList(`\n${A} refs/heads/x\n\n`)]).toEqual([["refs/heads/x", A]]);
  });
  it("is empty for an empty repository", () => {
    expect(parseRefList("").size).toBe(0);
  });
});

describe("diffRefs", () => {
  const before = new Map([
    ["refs/tags/v1", A],
    ["refs/heads/gone", B],
    ["refs/remotes/mirror/master", A],
  ]);
  const after = new Map([
    ["refs/tags/v1", A],
    ["refs/tags/v2", C],
    ["refs/remotes/mirror/master", B],
  ]);
  it("lists new, updated and deleted refs with exact counts", () => {
    expect(diffRefs(before, after)).toEqual({
      new: ["refs/tags/v2"],
      updated: ["refs/remotes/mirror/master"],
      deleted: ["refs/heads/gone"],
      truncated: false,
      counts: { new: 1, updated: 1, deleted: 1 },
    });
  });
  it("reports nothing when nothing changed", () => {
    expect(diffRefs(after, new Map(after)).counts).toEqual({ new: 0, updated: 0, deleted: 0 });
  });
  it("cuts long lists but keeps the counts exact", () => {
    const many = new Map(Array.from({ length: 7 }, (_, i) => [`refs/tags/t${i}`, A] as [string, string]));
    const d = diffRefs(new Map(), many, 3);
    expect(d.new).toEqual(["refs/tags/t0", "refs/tags/t1", "refs/tags/t2"]);
    expect(d.counts.new).toBe(7);
    expect(d.truncated).toBe(true);
  });
});

describe("filterRefs", () => {
  it("keeps only the refs under the given prefixes", () => {
    const refs = new Map([
      ["refs/heads/b4/x", A],
      ["refs/tags/v1", B],
      ["refs/remotes/mirror/master", C],
    ]);
    expect([...filterRefs(refs, ["refs/tags/", "refs/remotes/mirror/"]).keys()]).toEqual(["refs/tags/v1", "refs/remotes/mirror/master"]);
  });
});

describe("checkRefSyntax", () => {
  it.each(["v6.1", "master", "mirror/linux-6.1.y", "b4/my-series-v2", "deadbeef", A, "refs/tags/v1", "v6.1-rc1"])("accepts %s", (ref) => {
    expect(checkRefSyntax(ref)).toBeNull();
  });
  it.each(["", "-x", "a b", "a..b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "a@{1}", "x.lock", "x/", "x.", "a//b", "a\nb", "x".repeat(256)])("refuses %j", (ref) => {
    expect(checkRefSyntax(ref)).toMatch(/a /);
  });
});

describe("refCandidates and resolveNamedRef", () => {
  it("tries a tag, a developer branch, then an upstream branch", () => {
    expect(refCandidates("v1")).toEqual(["refs/tags/v1", "refs/heads/v1", "refs/remotes/mirror/v1"]);
  });
  it("maps mirror/<branch> to refs/remotes/mirror/<branch>", () => {
    expect(refCandidates("mirror/master")).toEqual(["refs/tags/mirror/master", "refs/heads/mirror/master", "refs/remotes/mirror/master"]);
  });
  it("takes a full ref name as it is", () => {
    expect(refCandidates("refs/heads/x")).toEqual(["refs/heads/x"]);
  });
  const refs = new Map([
    ["refs/tags/v1", A],
    ["refs/heads/v1", B],
    ["refs/heads/dev", B],
    ["refs/remotes/mirror/master", C],
    ["refs/remotes/mirror/dev", C],
  ]);
  it.each([
    ["v1", "refs/tags/v1", A],
    ["dev", "refs/heads/dev", B],
    ["mirror/dev", "refs/remotes/mirror/dev", C],
    ["master", "refs/remotes/mirror/master", C],
    ["mirror/master", "refs/remotes/mirror/master", C],
  ])("resolves %s through %s", (ref, refname, oid) => {
    expect(resolveNamedRef(ref, refs)).toEqual({ refname, oid });
  });
  it("returns null for a name that is not there", () => {
    expect(resolveNamedRef("v9", refs)).toBeNull();
  });
});

describe("isHexPrefix", () => {
  it.each([
    ["abcd", true],
    ["ABCDEF12", true],
    [A, true],
    ["abc", false],
    [`${A}0`, false],
    ["v1234", false],
  ])("%s -> %s", (ref, want) => {
    expect(isHexPrefix(ref)).toBe(want);
  });
});

describe("shortRefName", () => {
  it.each([
    ["refs/tags/v1", "v1"],
    ["refs/heads/b4/x", "b4/x"],
    ["refs/remotes/mirror/master", "mirror/master"],
    ["refs/notes/x", "refs/notes/x"],
  ])("%s -> %s", (full, short) => {
    expect(shortRefName(full)).toBe(short);
  });
});

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["abc", "abc", 0],
    ["abc", "abd", 1],
    ["abc", "ab", 1],
    ["kitten", "sitting", 3],
    ["v6.1.10", "v6.1.1", 1],
  ])("%s/%s = %d", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
  it("stops early past the limit", () => {
    expect(editDistance("aaaaaaaa", "bbbbbbbb", 2)).toBe(3);
  });
});

describe("closeRefs", () => {
  const refs = ["refs/tags/v6.1", "refs/tags/v6.1.1", "refs/tags/v6.1.10", "refs/tags/v5.15", "refs/heads/b4/fix-x", "refs/remotes/mirror/master", "refs/remotes/mirror/linux-6.1.y", "refs/remotes/mirror/HEAD"];
  it("suggests the nearest tags for a typo", () => {
    expect(closeRefs("v6.1.2", refs).slice(0, 3)).toEqual(["v6.1.1", "v6.1", "v6.1.10"]);
  });
  it("suggests mirror/<branch> for a plain upstream branch name typo", () => {
    expect(closeRefs("mastr", refs)).toContain("mirror/master");
  });
  it("suggests refs a prefix would start", () => {
    expect(closeRefs("linux-6", refs)).toContain("mirror/linux-6.1.y");
  });
  it("never suggests mirror/HEAD and suggests nothing for something unrelated", () => {
    expect(closeRefs("zzzzzzzzzzzz", refs)).toEqual([]);
    expect(closeRefs("HEAD", refs)).not.toContain("mirror/HEAD");
  });
  it("returns at most the limit", () => {
    expect(closeRefs("v6.1", refs, 2)).toHaveLength(2);
  });
});
