// b4 series, planned: the b4 command line, the subject that names the series (the
// cover letter's, else the first patch's) and the Bare branch it is kept as. Pure.

import { capLabel, seriesLabel } from "../../common/pipeline/label.ts";
import { InputError } from "../../common/errors.ts";

/**
 * `b4 am` into `outDir`: from a local mbox with -m (offline), or by message-id (b4
 * fetches the thread). b4 prepares the newest revision as one .mbx, with trailers
 * collected, and writes the cover letter beside it as .cover.
 */
export function b4AmArgv(series: Exclude<SeriesSource, { kind: "none" }>, outDir: string): string[] {
  const base = ["b4", "--no-interactive", "am", "-o", outDir];
  return series.kind === "mbox" ? [...base, "-m", series.path] : [...base, series.msgid];
}

/** The value of a Subject header, unfolded, from message text (first one wins). */
export function subjectOf(text: string): string | null {
  const m = /^Subject:[ \t]*(.*(?:\r?\n[ \t]+.*)*)/im.exec(text);
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, " ").trim() : null;
}

/** The series' name: the cover letter's subject, else the first patch's. */
export function coverSubjectOf(coverText: string | null, mboxText: string): string | null {
  return (coverText && subjectOf(coverText)) || subjectOf(mboxText);
}

/** The Bare branch a series is kept as: b4/<slug of its subject, with -vN>. */
export function seriesBranch(subject: string): string {
  return `b4/${capLabel(seriesLabel(subject), 100)}`;
}

const MESSAGE_ID = /^<?[^\s<>@]+@[^\s<>@]+>?$/;

export type SeriesSource = { kind: "none" } | { kind: "msgid"; msgid: string } | { kind: "mbox"; path: string };

/** b4_series: empty, a message-id (with or without <>), or an absolute mbox path. */
export function parseSeries(value: string): SeriesSource {
  const v = (value ?? "").trim();
  if (!v) return { kind: "none" };
  if (v.startsWith("/")) return { kind: "mbox", path: v };
  if (MESSAGE_ID.test(v)) return { kind: "msgid", msgid: v.replace(/^<|>$/g, "") };
  throw new InputError("b4_series", "a message-id (id@host) or the absolute path of a local mbox", v);
}

