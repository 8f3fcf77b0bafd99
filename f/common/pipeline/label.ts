// The label: the readable half of a build name. It is, in order of precedence, the
// custom label; else the b4 series' cover subject as a slug, with `-vN` only when the
// series really says vN; else `vanilla` for a plain upstream tag; else a slug of the
// ref. The identity, not the label, tells builds apart, so a label can be shortened
// to fit a length budget, but a trailing `-vN` is never cut. Pure.

import { InputError } from "../errors.ts";

export const CUSTOM_LABEL_MAX = 40;

/**
 * Lowercase ASCII letters, digits, '.' and '-': accents are folded (é -> e, ø -> o), anything
 * else becomes '-', runs collapse, and no '-' or '.' is left at either end. Text with
 * nothing usable gives "".
 */
const FOLD: Record<string, string> = { ø: "o", Ø: "o", æ: "ae", Æ: "ae", œ: "oe", Œ: "oe", ß: "ss", đ: "d", Đ: "d", ł: "l", Ł: "l", þ: "th", Þ: "th", ı: "i" };

export function slugify(text: string): string {
  return text
    .replace(/[øØæÆœŒßđĐłŁþÞı]/g, (c) => FOLD[c] ?? c)
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/-*\.-*/g, (m) => (m === "." ? "." : "-"))
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "");
}

const LEADING_TAGS = /^\s*((?:\[[^\]]*\]\s*)+)/;
const TRAILING_REVISION = /\s+v(\d+)\s*$/i;

/**
 * The series revision a subject really states: `[PATCH v2 0/3]`, `[PATCH RFC v3 1/5]`,
 * `[RFC PATCH net-next v4]`, `[PATCHv5]`, or a trailing ` v4`. null when none is stated
 * (never invented: a subject without one is a first posting or an unknown revision).
 */
export function seriesRevision(subject: string): number | null {
  const tags = LEADING_TAGS.exec(subject);
  if (tags) {
    for (const group of tags[1]!.matchAll(/\[([^\]]*)\]/g)) {
      for (const token of group[1]!.split(/[\s,]+/)) {
        const m = /^(?:patch)?v(\d+)$/i.exec(token);
        if (m && Number(m[1]) > 0) return Number(m[1]);
      }
    }
  }
  const rest = tags ? subject.slice(tags[0].length) : subject;
  const trailing = TRAILING_REVISION.exec(rest);
  if (trailing && Number(trailing[1]) > 0) return Number(trailing[1]);
  return null;
}

/** The cover subject without its `[...]` tags and without a trailing revision. */
export function seriesTitle(subject: string): string {
  const tags = LEADING_TAGS.exec(subject);
  const rest = tags ? subject.slice(tags[0].length) : subject;
  return rest.replace(TRAILING_REVISION, "").trim();
}

/** The label of a b4 series: the cover title's slug plus `-vN` when the subject says vN. */
export function seriesLabel(coverSubject: string): string {
  const slug = slugify(seriesTitle(coverSubject)) || "series";
  const rev = seriesRevision(coverSubject);
  return rev === null ? slug : `${slug}-v${rev}`;
}

/** A ref as a label: `refs/heads/` and the like dropped, a full commit id shortened. */
export function refLabel(ref: string): string {
  const bare = ref.trim().replace(/^refs\/(heads|tags|remotes)\//, "");
  if (/^[0-9a-f]{40}$/i.test(bare)) return bare.slice(0, 12).toLowerCase();
  return slugify(bare) || "ref";
}

/**
 * Validate a custom label: when custom_label is on, `label` must be 1 to 40 characters
 * with at least one letter or digit. Returns its slug. Raises InputError naming `label`.
 */
export function checkCustomLabel(label: unknown, field = "label"): string {
  const expected = `a label of 1 to ${CUSTOM_LABEL_MAX} characters with at least one letter or digit (custom_label is on)`;
  if (typeof label !== "string" || label.trim() === "") throw new InputError(field, expected, label ?? "");
  if (label.length > CUSTOM_LABEL_MAX) throw new InputError(field, `at most ${CUSTOM_LABEL_MAX} characters (custom_label is on)`, `${label.length} characters`);
  const slug = slugify(label);
  if (!slug) throw new InputError(field, expected, label);
  return slug;
}

export interface LabelInputs {
  /** The custom label when custom_label is on; null/undefined/"" otherwise. */
  customLabel?: string | null;
  /** The b4 series' cover (or first patch) subject, when a series is applied. */
  coverSubject?: string | null;
  ref: string;
  /** True when `ref` names an upstream release tag (checked against the Bare). */
  refIsUpstreamTag: boolean;
}

export function deriveLabel(inputs: LabelInputs): string {
  if (inputs.customLabel !== undefined && inputs.customLabel !== null && inputs.customLabel !== "") return checkCustomLabel(inputs.customLabel);
  if (inputs.coverSubject && inputs.coverSubject.trim()) return seriesLabel(inputs.coverSubject);
  if (inputs.refIsUpstreamTag) return "vanilla";
  return refLabel(inputs.ref);
}

/** The trailing `-vN` of a label, or "". */
export function revisionSuffix(label: string): string {
  return /-v\d+$/.exec(label)?.[0] ?? "";
}

/**
 * Shorten a label to at most `max` characters, keeping a trailing `-vN`: the title is
 * cut, never the revision. Raises when even the revision alone does not fit.
 */
export function capLabel(label: string, max: number): string {
  if (label.length <= max) return label;
  const suffix = revisionSuffix(label);
  const base = label.slice(0, label.length - suffix.length);
  const room = max - suffix.length;
  if (suffix && room < 1) {
    if (max >= suffix.length - 1) return suffix.slice(1);
    throw new Error(`a label budget of ${max} characters cannot hold the revision ${suffix.slice(1)}`);
  }
  if (max < 1) throw new Error(`a label budget of ${max} characters cannot hold any label`);
  const cut = base.slice(0, room).replace(/[-.]+$/g, "");
  if (!cut) return suffix ? suffix.slice(1) : base.slice(0, max);
  return `${cut}${suffix}`;
}

/** The Store key shared by every project: `<project>-<version>-<label>-<identity>`. */
export function storeKey(project: string, version: string, label: string, identity: string): string {
  return `${project}-${version}-${label}-${identity}`;
}
