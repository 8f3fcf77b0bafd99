import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { checkSource, checkSources, checkUrl, DEFAULT_SOURCES, isDue, parseSourcesToml, refreshCron, loadSourcesFile } from "../../f/workbench/sources.ts";
import { planRun } from "../../f/workbench/sync_mirrors.ts";

const WB = join(import.meta.dirname, "../../f/workbench");
/** The default source list, at the repository root: a worker never receives a .toml file. */
const SOURCES_FILE = join(import.meta.dirname, "../../sources.toml");

describe("parseSourcesToml", () => {
  it("reads one [source.<name>] table per source, in file order", () => {
    const text = `[source.qemu]\nurl = "https://example.org/qemu.git"\nrefresh_minutes = 30\n[source.linux]\nurl = "/srv/linux"\n`;
    expect(parseSourcesToml(text)).toEqual([
      { name: "qemu", url: "https://example.org/qemu.git", refresh_minutes: 30 },
      { name: "linux", url: "/srv/linux" },
    ]);
  });
  it.each([
    ["not toml", "sources file: expected valid TOML"],
    ["[other]\nx = 1\n", "sources file: expected a [source.<name>] table per source"],
    ['[source.bad]\nurl = "nope"\n', "source[0].url: expected a git URL"],
    ['[source."a/b"]\nurl = "/x"\n', "source[0].name: expected a name"],
    ['[source.x]\nurl = "/x"\nrefresh_minutes = 0\n', "source[0].refresh_minutes: expected a whole number of minutes"],
  ])("refuses %j", (text, message) => {
    expect(() => parseSourcesToml(text)).toThrow(message);
  });
});

describe("the default sources file", () => {
  it("names linux and qemu with their upstreams and intervals", async () => {
    const sources = await loadSourcesFile(SOURCES_FILE);
    expect(sources.map((s) => s.name)).toEqual(["linux", "qemu"]);
    expect(sources[0]!.url).toMatch(/git\.kernel\.org\/pub\/scm\/linux\/kernel\/git\/(stable|torvalds)\/linux\.git$/);
    expect(sources[1]!.url).toBe("https://gitlab.com/qemu-project/qemu.git");
    for (const s of sources) expect(s.refresh_minutes).toBeGreaterThan(0);
  });
  it.each(["init__flow", "fetch__flow"])("is exactly the default of %s's sources input", async (flow) => {
    const doc = parse(readFileSync(join(WB, flow, "flow.yaml"), "utf8"));
    expect(doc.schema.properties.sources.default).toEqual(await loadSourcesFile(SOURCES_FILE));
  });
  it("is DEFAULT_SOURCES, the default the flows parse with (a worker has no .toml file)", async () => {
    expect(DEFAULT_SOURCES).toEqual(await loadSourcesFile(SOURCES_FILE));
  });
  it("the schedule's args alone (only_due, as a server passes them) parse to the default sources", () => {
    const doc = parse(readFileSync(join(WB, "refresh.schedule.yaml"), "utf8"));
    expect(planRun("fetch", doc.args)).toEqual({ list: DEFAULT_SOURCES, mode: "refresh-due" });
    expect(planRun("fetch", { ...doc.args, sources: null })).toEqual({ list: DEFAULT_SOURCES, mode: "refresh-due" });
    expect(planRun("init", null)).toEqual({ list: DEFAULT_SOURCES, mode: "ensure" });
  });
  it("a wrong source is one sentence naming it as the user wrote it", () => {
    expect(() => planRun("init", { sources: [{ name: "linux", url: "nope" }] })).toThrow(/^sources\[0\]\.url: expected a git URL/);
    expect(() => planRun("init", { sources: [] })).toThrow(/^sources: expected a non-empty array/);
    expect(() => planRun("init", { sources: [{ name: "a/b", url: "/x" }] })).toThrow(/^sources\[0\]\.name: expected a name/);
    expect(() => planRun("init", { only_due: true })).toThrow(/^only_due: expected one of the flow's inputs \(sources\)/);
  });
  it("sets the refresh schedule's cron, and the schedule runs fetch with only_due", async () => {
    const doc = parse(readFileSync(join(WB, "refresh.schedule.yaml"), "utf8"));
    expect(doc.schedule).toBe(refreshCron(await loadSourcesFile(SOURCES_FILE)));
    expect(doc).toMatchObject({ script_path: "f/workbench/fetch", is_flow: true, args: { only_due: true } });
  });
});

describe("checkSources", () => {
  it("accepts a list of {name, url} and keeps refresh_minutes", () => {
    expect(checkSources([{ name: "linux", url: "file:///srv/linux.git", refresh_minutes: 5 }, { name: "qemu", url: "git@example.org:qemu.git" }])).toEqual([
      { name: "linux", url: "file:///srv/linux.git", refresh_minutes: 5 },
      { name: "qemu", url: "git@example.org:qemu.git" },
    ]);
  });
  it.each([
    [[], "sources: expected a non-empty array"],
    ["linux", "sources: expected a non-empty array"],
    [[null], "sources[0]: expected an object {name, url}"],
    [[{ name: "a/b", url: "/x" }], "sources[0].name: expected a name"],
    [[{ name: "..", url: "/x" }], "sources[0].name: expected a name"],
    [[{ name: "a..b", url: "/x" }], "sources[0].name: expected a name"],
    [[{ name: "../etc", url: "/x" }], "sources[0].name: expected a name"],
    [[{ name: "", url: "/x" }], "sources[0].name: expected a name"],
    [[{ name: "x", url: "" }], "sources[0].url: expected a git URL"],
    [[{ name: "x", url: "--upload-pack=evil" }], "sources[0].url: expected a git URL"],
    [[{ name: "x", url: "relative/path" }], "sources[0].url: expected a git URL"],
    [[{ name: "x", url: "/a" }, { name: "x", url: "/b" }], "sources[1].name: expected a name not already used"],
    [[{ name: "x", url: "/a", refresh_minutes: 1.5 }], "sources[0].refresh_minutes"],
  ])("refuses %j with one sentence naming the field", (value, message) => {
    let err: Error | undefined;
    try {
      checkSources(value);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe("InputError");
    expect(err?.message.startsWith(message)).toBe(true);
    expect(err?.message.match(/\.\s/g) ?? []).toHaveLength(0);
  });
});

describe("checkUrl", () => {
  it.each(["https://h/x.git", "http://h/x", "git://h/x", "ssh://u@h/x", "file:///x", "u@h:x.git", "/abs/path"])("accepts %s", (url) => {
    expect(checkUrl("url", url)).toBe(url);
  });
  it.each(["ftp://h/x", "h/x", "-x", "https://h/a b", 3])("refuses %j", (url) => {
    expect(() => checkUrl("url", url)).toThrow("url: expected a git URL");
  });
  it("is what checkSource uses for the url field", () => {
    expect(() => checkSource({ name: "x", url: "nope" }, "s")).toThrow("s.url:");
  });
});

describe("refreshCron", () => {
  it.each([
    [[1], "0 */5 * * * *"],
    [[15], "0 */15 * * * *"],
    [[45], "0 */30 * * * *"],
    [[60, 360], "0 0 * * * *"],
    [[360], "0 0 */6 * * *"],
    [[1440], "0 0 0 * * *"],
    [[10080], "0 0 0 * * *"],
    [[undefined], "0 0 * * * *"],
  ])("%j -> %s", (intervals, cron) => {
    expect(refreshCron(intervals.map((m, i) => ({ name: `s${i}`, url: "/x", refresh_minutes: m })))).toBe(cron);
  });
});

describe("isDue", () => {
  const s = { name: "x", url: "/x", refresh_minutes: 60 };
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  it.each([
    [null, 0, true],
    [t0, 30, false],
    [t0, 59, true],
    [t0, 120, true],
  ])("last %s, %d minutes later -> %s", (last, minutes, due) => {
    expect(isDue(s, last, t0 + minutes * 60_000)).toBe(due);
  });
  it("is always due without an interval", () => {
    expect(isDue({ name: "x", url: "/x" }, t0, t0)).toBe(true);
  });
});
