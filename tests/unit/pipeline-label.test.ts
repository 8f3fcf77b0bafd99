import { describe, expect, it } from "vitest";
import { InputError } from "../../f/common/errors.ts";
import { capLabel, checkCustomLabel, deriveLabel, refLabel, revisionSuffix, seriesLabel, seriesRevision, seriesTitle, slugify, storeKey } from "../../f/common/pipeline/label.ts";

describe("slugify", () => {
  it.each([
    ["Fix the frobnicator", "fix-the-frobnicator"],
    ["mm/slub: tidy up", "mm-slub-tidy-up"],
    ["  --leading and trailing--  ", "leading-and-trailing"],
    ["Café crème à la noix", "cafe-creme-a-la-noix"],
    ["Søren Œuvre Straße", "soren-oeuvre-strasse"],
    ["日本語のパッチ", ""],
    ["x86/kvm: 日本 fix", "x86-kvm-fix"],
    ["v6.1.y", "v6.1.y"],
    ["a..b", "a.b"],
    ["a-.b", "a-b"],
    [".hidden.", "hidden"],
    ["UPPER_case", "upper-case"],
    ["; rm -rf / $(x)", "rm-rf-x"],
    ["", ""],
  ])("%j -> %j", (input, want) => {
    expect(slugify(input)).toBe(want);
  });

  it("only ever yields letters, digits, '.' and '-' with no separator at the ends", () => {
    for (const s of ["Ω≈ç√∫", "a/b\\c", "tab\tnew\nline", "..--..", "ünïcødé", "🙂 smile 🙂"]) {
      const slug = slugify(s);
      expect(slug).toMatch(/^([a-z0-9]([a-z0-9.-]*[a-z0-9])?)?$/);
    }
  });
});

describe("seriesRevision", () => {
  it.each([
    ["[PATCH v2 0/3] mm: fix things", 2],
    ["[PATCH RFC v3 1/5] net: thing", 3],
    ["[RFC PATCH net-next v4 0/7] tcp: thing", 4],
    ["[PATCHv5 0/2] block: x", 5],
    ["[PATCH 0/3] no revision", null],
    ["[PATCH] single", null],
    ["Subject with trailing v4", 4],
    ["[PATCH 0/2] cover says v12", 12],
    ["[PATCH v12 0/9] x", 12],
    ["[PATCH v0 0/1] zero is not a revision", null],
    ["vfs: improve v4l2 handling", null],
    ["[PATCH 1/2] virtio v2fix", null],
    ["[GIT PULL] [PATCH v7] tags in two groups", 7],
    ["plain subject", null],
  ])("%j -> %j", (subject, want) => {
    expect(seriesRevision(subject)).toBe(want);
  });
});

describe("seriesTitle and seriesLabel", () => {
  it.each([
    ["[PATCH v2 0/3] mm: Fix the frobnicator", "mm: Fix the frobnicator", "mm-fix-the-frobnicator-v2"],
    ["[PATCH 0/3] mm: Fix the frobnicator", "mm: Fix the frobnicator", "mm-fix-the-frobnicator"],
    ["Fix the frobnicator v3", "Fix the frobnicator", "fix-the-frobnicator-v3"],
    ["[PATCH v2 0/2] 日本語", "日本語", "series-v2"],
    ["[RFC PATCH v10 0/4] x86/boot: shrink", "x86/boot: shrink", "x86-boot-shrink-v10"],
  ])("%j", (subject, title, label) => {
    expect(seriesTitle(subject)).toBe(title);
    expect(seriesLabel(subject)).toBe(label);
  });
});

describe("refLabel", () => {
  it.each([
    ["v6.1", "v6.1"],
    ["refs/heads/feature/foo", "feature-foo"],
    ["refs/tags/v6.1-rc3", "v6.1-rc3"],
    ["user/topic/branch", "user-topic-branch"],
    ["0123456789abcdef0123456789abcdef01234567", "0123456789ab"],
    ["日本", "ref"],
  ])("%j -> %j", (ref, want) => {
    expect(refLabel(ref)).toBe(want);
  });
});

describe("deriveLabel precedence", () => {
  it.each([
    [{ customLabel: "My Experiment", coverSubject: "[PATCH v2 0/1] x", ref: "v6.1", refIsUpstreamTag: true }, "my-experiment"],
    [{ customLabel: null, coverSubject: "[PATCH v2 0/1] Do thing", ref: "v6.1", refIsUpstreamTag: true }, "do-thing-v2"],
    [{ customLabel: "", coverSubject: "[PATCH 0/1] Do thing", ref: "v6.1", refIsUpstreamTag: true }, "do-thing"],
    [{ coverSubject: null, ref: "v6.1", refIsUpstreamTag: true }, "vanilla"],
    [{ ref: "refs/heads/dev/x", refIsUpstreamTag: false }, "dev-x"],
    [{ ref: "v6.1", refIsUpstreamTag: false }, "v6.1"],
    [{ coverSubject: "   ", ref: "master", refIsUpstreamTag: false }, "master"],
  ])("%j -> %j", (inputs, want) => {
    expect(deriveLabel(inputs)).toBe(want);
  });
});

describe("checkCustomLabel", () => {
  it("accepts up to 40 characters and returns the slug", () => {
    expect(checkCustomLabel("a".repeat(40))).toBe("a".repeat(40));
    expect(checkCustomLabel("Try 2")).toBe("try-2");
  });

  it.each([
    ["", /label: expected a label of 1 to 40 characters/],
    ["   ", /label: expected a label of 1 to 40 characters/],
    [undefined, /label: expected a label of 1 to 40 characters/],
    ["a".repeat(41), /label: expected at most 40 characters \(custom_label is on\), got "41 characters"\./],
    ["日本語", /with at least one letter or digit/],
  ])("rejects %j naming the label field", (value, message) => {
    let err: unknown;
    try {
      checkCustomLabel(value);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe("label");
    expect((err as Error).message).toMatch(message);
  });
});

describe("capLabel", () => {
  it.each([
    ["short", 10, "short"],
    ["exactly-ten", 11, "exactly-ten"],
    ["a-very-long-series-title-v12", 10, "a-very-v12"],
    ["a-very-long-series-title-v12", 8, "a-ve-v12"],
    ["a-very-long-series-title-v12", 4, "v12"],
    ["a-very-long-series-title-v12", 3, "v12"],
    ["title-with-trailing-dash-here", 6, "title"],
    ["no.revision.label", 4, "no.r"], ["no.revision.label", 3, "no"],
    ["v2", 1, "v"],
  ])("capLabel(%j, %d) -> %j", (label, max, want) => {
    const got = capLabel(label, max);
    expect(got).toBe(want);
  });

  it("never cuts the revision and never exceeds the budget when the revision fits", () => {
    const long = `${"x".repeat(200)}-v12`;
    for (let max = 3; max < 210; max++) {
      const got = capLabel(long, max);
      expect(got.length).toBeLessThanOrEqual(max);
      expect(got.endsWith("v12")).toBe(true);
    }
  });

  it("raises when not even the revision fits", () => {
    expect(() => capLabel("abc-v12", 2)).toThrow(/cannot hold the revision v12/);
    expect(() => capLabel("abc", 0)).toThrow(/cannot hold any label/);
  });

  it("reads a revision suffix only at the end", () => {
    expect(revisionSuffix("x-v3")).toBe("-v3");
    expect(revisionSuffix("x-v3-y")).toBe("");
    expect(revisionSuffix("v3")).toBe("");
  });
});

it("storeKey joins project, version, label and identity", () => {
  expect(storeKey("qemu", "7.2.0", "vanilla", "0123456789ab")).toBe("qemu-7.2.0-vanilla-0123456789ab");
});
