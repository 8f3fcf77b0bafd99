// The sources the Workbench mirrors: which upstreams, at which URL, refreshed how
// often. The defaults live in sources.toml at the repository root (read with
// @iarna/toml) for people, and in DEFAULT_SOURCES below for the flows, because a
// Windmill worker receives only the step scripts, never a .toml file (a test keeps the
// two equal). The `sources` input field of the init and fetch flows is declared once
// here. Everything here is pure except loadSourcesFile.

import { readFile } from "node:fs/promises";
import TOML from "@iarna/toml";
import { z } from "zod";
import { InputError } from "../common/errors.ts";
import { checkedBy, field } from "../common/inputs.ts";
import { checkName } from "../common/layout.ts";

export interface Source {
  name: string;
  url: string;
  /** How often the scheduled fetch refreshes this source; absent: every scheduled run. */
  refresh_minutes?: number;
}

const URL_SCHEMES = /^(https?|git|ssh|file):\/\/[^\s]+$/;
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/;

/** A URL git can clone: a URL with a scheme git knows, user@host:path, or an absolute path. */
export function checkUrl(field: string, url: unknown): string {
  if (typeof url !== "string" || url.startsWith("-") || !(URL_SCHEMES.test(url) || SCP_LIKE.test(url) || /^\/[^\s]*$/.test(url))) {
    throw new InputError(field, "a git URL (https://, git://, ssh://, file://, user@host:path or an absolute path)", url);
  }
  return url;
}

/** Validate one source as given to a flow: {name, url, refresh_minutes?}. */
export function checkSource(value: unknown, field: string): Source {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InputError(field, "an object {name, url}", value);
  }
  const v = value as Record<string, unknown>;
  const name = checkName(`${field}.name`, v.name as string);
  const url = checkUrl(`${field}.url`, v.url);
  const out: Source = { name, url };
  if (v.refresh_minutes !== undefined && v.refresh_minutes !== null) {
    const m = v.refresh_minutes;
    if (typeof m !== "number" || !Number.isInteger(m) || m < 1 || m > 7 * 24 * 60) {
      throw new InputError(`${field}.refresh_minutes`, "a whole number of minutes from 1 to 10080", m);
    }
    out.refresh_minutes = m;
  }
  return out;
}

/** Validate a flow's `sources` input: a non-empty array of distinct sources. */
export function checkSources(value: unknown, field = "sources"): Source[] {
  if (!Array.isArray(value) || value.length === 0) throw new InputError(field, "a non-empty array of {name, url}", value);
  const out = value.map((v, i) => checkSource(v, `${field}[${i}]`));
  const seen = new Set<string>();
  out.forEach((s, i) => {
    if (seen.has(s.name)) throw new InputError(`${field}[${i}].name`, "a name not already used by another source", s.name);
    seen.add(s.name);
  });
  return out;
}

/**
 * Parse the sources file: one table per source, `[source.<name>]` with `url` and
 * `refresh_minutes`. Entries keep the file's order.
 */
export function parseSourcesToml(text: string): Source[] {
  let doc: Record<string, unknown>;
  try {
    doc = TOML.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new InputError("sources file", `valid TOML (${(err as Error).message.split("\n")[0]})`);
  }
  const table = doc.source;
  if (typeof table !== "object" || table === null || Array.isArray(table)) {
    throw new InputError("sources file", "a [source.<name>] table per source");
  }
  const list = Object.entries(table as Record<string, Record<string, unknown>>).map(([name, entry]) => ({ name, ...entry }));
  return checkSources(list, "source");
}

export async function loadSourcesFile(path: string): Promise<Source[]> {
  return parseSourcesToml(await readFile(path, "utf8"));
}

/** The upstreams a flow mirrors when its `sources` input is not given: sources.toml's list. */
export const DEFAULT_SOURCES: Source[] = [
  { name: "linux", url: "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git", refresh_minutes: 60 },
  { name: "qemu", url: "https://gitlab.com/qemu-project/qemu.git", refresh_minutes: 360 },
];

const SourceItem = z.object({
  name: field(z.string(), { description: "The project name (mirror/<name>.git, bare/<name>.git); no '/' or '..'." }),
  url: field(z.string(), { description: "The upstream git URL." }),
  refresh_minutes: field(z.number().optional(), { description: "How often the scheduled fetch refreshes this source." }),
});

/** The `sources` field of f/workbench/init and f/workbench/fetch: checked by checkSources, sources.toml's list by default. */
export function sourcesField(what: string) {
  return field(
    z
      .array(SourceItem)
      .default(DEFAULT_SOURCES)
      .superRefine(checkedBy((list: unknown) => checkSources(list, ""), "relative")),
    { description: `The upstreams to ${what}, each {name, url, refresh_minutes}. The default is the list in sources.toml at the repository root.` },
  );
}

const PERIODS = [5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440];

/**
 * The refresh schedule as a 6-field Windmill cron: the longest regular period that is
 * not longer than the shortest source's interval, so every source gets refreshed on
 * time; a scheduled fetch with only_due skips the sources not due yet.
 */
export function refreshCron(sources: readonly Source[]): string {
  const wanted = Math.min(...sources.map((s) => s.refresh_minutes ?? 60));
  const period = [...PERIODS].reverse().find((p) => p <= wanted) ?? PERIODS[0]!;
  if (period < 60) return `0 */${period} * * * *`;
  if (period === 60) return "0 0 * * * *";
  if (period < 1440) return `0 0 */${period / 60} * * *`;
  return "0 0 0 * * *";
}

/** True when a source refreshed at `lastRefresh` (ms) is due again at `now` (ms). */
export function isDue(source: Source, lastRefresh: number | null, now: number): boolean {
  if (lastRefresh === null || source.refresh_minutes === undefined) return true;
  // A minute of slack so a schedule firing exactly on the interval is not skipped.
  return now - lastRefresh >= (source.refresh_minutes - 1) * 60_000;
}
