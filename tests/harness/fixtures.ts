// Upstream repositories for tests: a Linux and a QEMU git repository built from the
// sources Debian ships (no internet here), usable as the URL a Workbench mirrors from.
//
// They are big (Linux: ~80k files, ~500 MB of objects), so each is built once and cached
// outside the checkout, in $KDEVFLOW_FIXTURES (default ~/.cache/kdevflow/fixtures), as a
// bare repository: linux.git, qemu.git. A build runs under a lock (parallel test files
// wait for one build), happens in a temporary directory beside the final one and is
// renamed into place at the end, so a killed build leaves no half repository: the next
// caller removes the leftovers and builds again.
//
// Treat the returned repository as read-only. A test that needs to change "upstream"
// (push a new commit or tag) clones it first with cloneUpstream().
//
// The decisions (which tag, what to cut from .gitignore, which deb-src stanzas to add)
// are pure functions below, tested in tests/unit/harness-fixtures.test.ts; the rest runs
// tar, git and apt-get through run().

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { withLock } from "../../f/common/lock.ts";
import { capture, run } from "../../f/common/run.ts";

export interface UpstreamFixture {
  /** What `git clone --mirror` takes (the repository's path). */
  url: string;
  /** The tag upstream would put on this tree, e.g. v6.1.192 or v7.2.0. */
  tag: string;
  /** The version the tag names, e.g. 6.1.192. */
  version: string;
  /** The bare repository's directory (same as url). */
  dir: string;
}

/** Author, committer and tagger of every fixture commit: fixed, so the ids are stable. */
export const FIXTURE_GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: "kdevflow fixtures",
  GIT_AUTHOR_EMAIL: "fixtures@kdevflow.invalid",
  GIT_AUTHOR_DATE: "2024-01-01T00:00:00+0000",
  GIT_COMMITTER_NAME: "kdevflow fixtures",
  GIT_COMMITTER_EMAIL: "fixtures@kdevflow.invalid",
  GIT_COMMITTER_DATE: "2024-01-01T00:00:00+0000",
  GIT_CONFIG_NOSYSTEM: "1",
};

const META_FILE = "kdevflow-fixture.json";
/** Bump when the way fixtures are built changes: caches built the old way are rebuilt. */
const FIXTURE_FORMAT = 2;

export function fixturesRoot(env: Record<string, string | undefined> = process.env): string {
  return env.KDEVFLOW_FIXTURES || join(env.HOME || homedir(), ".cache", "kdevflow", "fixtures");
}

// ---------------------------------------------------------------------------------
// Pure decisions

/** The Makefile's version variables. */
export interface KernelMakefileVersion {
  version: number;
  patchlevel: number;
  sublevel: number;
  extraversion: string;
}

export function parseKernelMakefile(text: string): KernelMakefileVersion {
  const get = (name: string): string | undefined => new RegExp(`^${name}\\s*=[ \\t]*(.*)$`, "m").exec(text)?.[1]?.trim();
  const version = get("VERSION");
  const patchlevel = get("PATCHLEVEL");
  const sublevel = get("SUBLEVEL");
  if (!version || !/^\d+$/.test(version) || !patchlevel || !/^\d+$/.test(patchlevel) || sublevel === undefined || !/^\d*$/.test(sublevel)) {
    throw new Error("not a kernel Makefile: VERSION, PATCHLEVEL and SUBLEVEL are missing or not numbers");
  }
  return { version: Number(version), patchlevel: Number(patchlevel), sublevel: Number(sublevel || "0"), extraversion: get("EXTRAVERSION") ?? "" };
}

/**
 * The tag kernel.org puts on this version: v6.1.192 for a stable release, v6.1 for the
 * first release of a series (SUBLEVEL 0), v6.2-rc3 for a release candidate.
 */
export function kernelTag(v: KernelMakefileVersion): { tag: string; version: string } {
  const base = v.sublevel === 0 ? `${v.version}.${v.patchlevel}` : `${v.version}.${v.patchlevel}.${v.sublevel}`;
  const version = `${base}${v.extraversion}`;
  return { tag: `v${version}`, version };
}

/** QEMU's tag for the VERSION file's content: 7.2.0 -> v7.2.0. */
export function qemuTag(versionFile: string): { tag: string; version: string } {
  const version = versionFile.trim();
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(`not a QEMU VERSION file: ${JSON.stringify(versionFile.slice(0, 40))}`);
  }
  return { tag: `v${version}`, version };
}

/**
 * Debian's linux-source appends a section to the top-level .gitignore that ignores
 * everything (`/*`), since Debian's packaging repository holds only debian/. Cut it, so
 * `git add -A` sees the tree and the repository's .gitignore is upstream's.
 */
export function stripDebianGitignore(text: string): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => /^#\s*Debian packaging/i.test(l));
  if (at < 0) return text;
  let start = at;
  // The section opens with a bare "#" line and may be preceded by blank lines.
  while (start > 0 && /^#?\s*$/.test(lines[start - 1]!)) start--;
  return `${lines.slice(0, start).join("\n")}\n`;
}

export interface AptSourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** Other fields (Signed-By, Architectures, ...), kept as written. */
  extra: [string, string][];
  enabled: boolean;
}

/** Parse deb822 `.sources` text into its stanzas. */
export function parseDeb822Sources(text: string): AptSourceEntry[] {
  const entries: AptSourceEntry[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields: [string, string][] = [];
    for (const raw of block.split("\n")) {
      if (raw.startsWith("#") || !raw.trim()) continue;
      if (/^\s/.test(raw) && fields.length) {
        fields[fields.length - 1]![1] += `\n${raw}`;
        continue;
      }
      const colon = raw.indexOf(":");
      if (colon <= 0) continue;
      fields.push([raw.slice(0, colon).trim(), raw.slice(colon + 1).trim()]);
    }
    if (!fields.length) continue;
    const e: AptSourceEntry = { types: [], uris: [], suites: [], components: [], extra: [], enabled: true };
    for (const [k, v] of fields) {
      const words = v.split(/\s+/).filter(Boolean);
      switch (k.toLowerCase()) {
        case "types": e.types = words; break;
        case "uris": e.uris = words; break;
        case "suites": e.suites = words; break;
        case "components": e.components = words; break;
        case "enabled": e.enabled = !/^no$/i.test(v); break;
        default: e.extra.push([k, v]);
      }
    }
    entries.push(e);
  }
  return entries;
}

/** Parse one-line `sources.list` text (`deb [opts] uri suite comps...`). */
export function parseOneLineSources(text: string): AptSourceEntry[] {
  const entries: AptSourceEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const extra: [string, string][] = [];
    for (const opt of (m[2] ?? "").split(/\s+/).filter(Boolean)) {
      const eq = opt.indexOf("=");
      if (eq > 0) extra.push([opt.slice(0, eq), opt.slice(eq + 1)]);
    }
    entries.push({ types: [m[1]!], uris: [m[3]!], suites: [m[4]!], components: (m[5] ?? "").split(/\s+/).filter(Boolean), extra, enabled: true });
  }
  return entries;
}

const SOURCE_OPTION_FIELDS: Record<string, string> = {
  "signed-by": "Signed-By",
  arch: "Architectures",
  trusted: "Trusted",
};

function isDistroSuite(suite: string, codename: string): boolean {
  return suite === codename || suite.startsWith(`${codename}-`);
}

/**
 * The deb-src stanzas to add so `apt-get source` works: one per enabled `deb` entry of
 * this release (its suites start with the codename), same mirror, suites and keys.
 * Empty when a deb-src entry for the release exists already. Third-party repositories
 * (other suites) are left alone: they usually publish no sources and `apt-get update`
 * would fail on them.
 */
export function debSrcStanzas(entries: AptSourceEntry[], codename: string): string {
  const forRelease = (e: AptSourceEntry) => e.enabled && e.suites.some((s) => isDistroSuite(s, codename));
  if (entries.some((e) => forRelease(e) && e.types.includes("deb-src"))) return "";
  const stanzas: string[] = [];
  for (const e of entries) {
    if (!forRelease(e) || !e.types.includes("deb")) continue;
    const lines = [
      "Types: deb-src",
      `URIs: ${e.uris.join(" ")}`,
      `Suites: ${e.suites.filter((s) => isDistroSuite(s, codename)).join(" ")}`,
      `Components: ${e.components.join(" ")}`,
    ];
    for (const [k, v] of e.extra) {
      const name = SOURCE_OPTION_FIELDS[k.toLowerCase()] ?? k;
      if (name.toLowerCase() === "architectures") continue; // sources have no architecture
      lines.push(`${name}: ${v}`);
    }
    stanzas.push(lines.join("\n"));
  }
  return stanzas.length ? `# written by kdevflow's scripts/fixtures.sh: apt-get source qemu\n${stanzas.join("\n\n")}\n` : "";
}

// ---------------------------------------------------------------------------------
// Building and caching

interface FixtureMeta {
  tag: string;
  version: string;
  /** What the repository was built from, to notice a changed source. */
  source: string;
}

async function readMeta(dir: string): Promise<FixtureMeta | null> {
  try {
    return JSON.parse(await readFile(join(dir, META_FILE), "utf8")) as FixtureMeta;
  } catch {
    return null;
  }
}

function say(line: string): void {
  console.log(`fixtures: ${line}`);
}

/**
 * Return the cached repository `name`.git, building it with `build` when it is missing
 * or was built from another source. `build(tmp)` fills a bare repository at `tmp/repo.git`
 * and returns its tag and version.
 */
export async function cachedRepo(
  name: string,
  sourceId: () => Promise<string | null>,
  build: (tmp: string) => Promise<{ tag: string; version: string; source: string }>,
): Promise<UpstreamFixture> {
  const root = fixturesRoot();
  const dir = join(root, `${name}.git`);
  const fast = await readMeta(dir);
  const id = await sourceId();
  const fresh = (m: FixtureMeta | null): m is FixtureMeta =>
    m !== null && (id === null ? m.source.startsWith(`${FIXTURE_FORMAT}:`) : m.source === `${FIXTURE_FORMAT}:${id}`);
  if (fresh(fast)) return { url: dir, dir, tag: fast.tag, version: fast.version };
  await mkdir(root, { recursive: true });
  return withLock(join(root, `${name}.lock`), { what: `the ${name} fixture repository`, log: say }, async () => {
    const meta = await readMeta(dir);
    if (fresh(meta)) return { url: dir, dir, tag: meta.tag, version: meta.version };
    // Under the lock, any temporary directory left is from a build that was killed.
    for (const entry of await readdir(root)) {
      if (entry.startsWith(`.${name}-build-`)) {
        say(`removing the leftovers of an interrupted build: ${entry}`);
        await rm(join(root, entry), { recursive: true, force: true });
      }
    }
    const tmp = await mkdtemp(join(root, `.${name}-build-`));
    const started = Date.now();
    try {
      say(`building the ${name} upstream repository in ${tmp} (once; cached in ${root})`);
      const built = await build(tmp);
      built.source = `${FIXTURE_FORMAT}:${built.source}`;
      await writeFile(join(tmp, "repo.git", META_FILE), `${JSON.stringify(built, null, 2)}\n`);
      if (existsSync(dir)) {
        const old = join(tmp, "old.git");
        await rename(dir, old);
      }
      await rename(join(tmp, "repo.git"), dir);
      say(`${name} ${built.tag} ready at ${dir} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      return { url: dir, dir, tag: built.tag, version: built.version };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
}

/**
 * Commit `work` into a new bare repository `gitDir` as one commit and tag it (annotated,
 * as upstream tags are). Every file is added, including files the tree's own .gitignore
 * names (upstream tracks some of those, and Debian's linux-source .gitignore lacks
 * upstream's `!.gitignore`-style exceptions). The objects end in one pack without deltas:
 * quick to write, and cloning over file:// then streams it instead of recompressing.
 */
async function commitTree(gitDir: string, work: string, message: string, tag: string): Promise<void> {
  const git = (args: string[]) => run(["git", "-c", "gc.auto=0", `--git-dir=${gitDir}`, `--work-tree=${work}`, ...args], { env: FIXTURE_GIT_ENV });
  await run(["git", "init", "--quiet", "--bare", "--initial-branch=master", gitDir], { env: FIXTURE_GIT_ENV });
  await run(["git", "--git-dir", gitDir, "config", "gc.auto", "0"]);
  say("git add --all --force (the whole tree; this takes a while)");
  await git(["add", "--all", "--force"]);
  const count = (await capture(["git", `--git-dir=${gitDir}`, "ls-files", "--cached"], { env: FIXTURE_GIT_ENV })).split("\n").length;
  say(`committing ${count} files`);
  await git(["commit", "--quiet", "--no-verify", "-m", message]);
  await git(["tag", "-a", tag, "-m", message]);
  say("packing the objects");
  await git(["repack", "-a", "-d", "-q", "--window=0", "--depth=0"]);
  await rm(join(gitDir, "index"), { force: true });
}

async function fileId(path: string): Promise<string> {
  const s = await stat(path);
  return `${path}:${s.size}:${Math.floor(s.mtimeMs)}`;
}

/** The linux-source tarball: $KDEVFLOW_LINUX_SOURCE, else Debian's (linux-source package). */
export async function linuxSourceTarball(env: Record<string, string | undefined> = process.env): Promise<string> {
  if (env.KDEVFLOW_LINUX_SOURCE) return env.KDEVFLOW_LINUX_SOURCE;
  const usrSrc = "/usr/src";
  const found = existsSync(usrSrc) ? (await readdir(usrSrc)).filter((f) => /^linux-source-[\d.]+\.tar\.xz$/.test(f)).sort() : [];
  const last = found.at(-1);
  if (!last) throw new Error("no /usr/src/linux-source-*.tar.xz: install Debian's linux-source package (apt-get install linux-source)");
  return join(usrSrc, last);
}

/** A git repository of Debian's Linux source, tagged as kernel.org tags it. */
export async function linuxUpstream(): Promise<UpstreamFixture> {
  const tarball = await linuxSourceTarball();
  return cachedRepo("linux", () => fileId(tarball), async (tmp) => {
    const work = join(tmp, "src");
    await mkdir(work);
    say(`unpacking ${tarball} (about 30 s)`);
    await run(["tar", "-xJf", tarball, "-C", work, "--strip-components=1", "--no-same-owner"]);
    const gitignore = join(work, ".gitignore");
    await writeFile(gitignore, stripDebianGitignore(await readFile(gitignore, "utf8")));
    const { tag, version } = kernelTag(parseKernelMakefile(await readFile(join(work, "Makefile"), "utf8")));
    await commitTree(join(tmp, "repo.git"), work, `Linux ${version}`, tag);
    return { tag, version, source: await fileId(tarball) };
  });
}

/** This machine's Debian codename (bookworm), from /etc/os-release. */
async function debianCodename(): Promise<string> {
  const text = await readFile("/etc/os-release", "utf8");
  const m = /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(text);
  if (!m) throw new Error("cannot read VERSION_CODENAME from /etc/os-release");
  return m[2]!;
}

export const DEB_SRC_FILE = "/etc/apt/sources.list.d/kdevflow-deb-src.sources";

/**
 * Make sure apt knows a deb-src entry for this release; add one beside the existing deb
 * entries (and run apt-get update) when there is none. Returns true when it added one.
 */
export async function ensureDebSrc(): Promise<boolean> {
  const codename = await debianCodename();
  const entries: AptSourceEntry[] = [];
  if (existsSync("/etc/apt/sources.list")) entries.push(...parseOneLineSources(await readFile("/etc/apt/sources.list", "utf8")));
  const partsDir = "/etc/apt/sources.list.d";
  for (const f of existsSync(partsDir) ? (await readdir(partsDir)).sort() : []) {
    const text = await readFile(join(partsDir, f), "utf8").catch(() => "");
    if (f.endsWith(".list")) entries.push(...parseOneLineSources(text));
    else if (f.endsWith(".sources")) entries.push(...parseDeb822Sources(text));
  }
  const add = debSrcStanzas(entries, codename);
  if (!add) return false;
  if (process.getuid?.() !== 0) {
    throw new Error(`apt has no deb-src entry for ${codename}: run scripts/fixtures.sh as root once (it writes ${DEB_SRC_FILE})`);
  }
  say(`adding deb-src entries for ${codename} in ${DEB_SRC_FILE}`);
  await writeFile(DEB_SRC_FILE, add);
  await run(["apt-get", "update", "-o", "DPkg::Lock::Timeout=600"]);
  return true;
}

/** A git repository of Debian's QEMU source (apt-get source qemu), tagged v<VERSION>. */
export async function qemuUpstream(): Promise<UpstreamFixture> {
  return cachedRepo("qemu", async () => null, async (tmp) => {
    await ensureDebSrc();
    const dl = join(tmp, "download");
    await mkdir(dl);
    say("downloading and unpacking Debian's QEMU source (apt-get source qemu)");
    const source = () => run(["apt-get", "source", "--only-source", "qemu"], { cwd: dl });
    await source().catch(async (err: unknown) => {
      // The deb-src entry may predate the package lists (a cleaned image): refresh once.
      if (process.getuid?.() !== 0) throw err;
      say("apt-get source failed; refreshing the package lists and trying again");
      await run(["apt-get", "update", "-o", "DPkg::Lock::Timeout=600"]);
      await source();
    });
    const unpacked = (await readdir(dl, { withFileTypes: true })).find((d) => d.isDirectory() && d.name.startsWith("qemu-"));
    if (!unpacked) throw new Error(`apt-get source qemu left no qemu-* directory in ${dl}`);
    const work = join(dl, unpacked.name);
    // dpkg-source's record of applied patches is not part of the source tree.
    await rm(join(work, ".pc"), { recursive: true, force: true });
    const { tag, version } = qemuTag(await readFile(join(work, "VERSION"), "utf8"));
    await commitTree(join(tmp, "repo.git"), work, `Update version for v${version} release`, tag);
    return { tag, version, source: `debian:${unpacked.name}` };
  });
}

/**
 * A private, writable copy of a fixture (for a test that adds commits or tags
 * "upstream"). Local clones hard-link the objects, so this is fast and small.
 */
/** A small git repository at `dir` (made here) with one commit of `files` on `branch`: a source checkout a test overrides a package with. */
export async function gitSource(dir: string, branch: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const git = (...args: string[]) => run(["git", "-C", dir, ...args], { quiet: true, env: { ...process.env, ...FIXTURE_GIT_ENV } });
  await git("init", "-q", "-b", branch);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  await git("add", "--", ...Object.keys(files));
  await git("commit", "-q", "-m", "source");
  return dir;
}

export async function cloneUpstream(fixture: UpstreamFixture, dest: string): Promise<UpstreamFixture> {
  await run(["git", "clone", "--quiet", "--bare", fixture.url, dest], { env: FIXTURE_GIT_ENV });
  return { ...fixture, url: dest, dir: dest };
}

// `bun tests/harness/fixtures.ts linux qemu` builds the fixtures ahead of time
// (scripts/fixtures.sh) and prints each as JSON.
if ((import.meta as { main?: boolean }).main) {
  const makers: Record<string, () => Promise<UpstreamFixture>> = { linux: linuxUpstream, qemu: qemuUpstream };
  const names = process.argv.slice(2);
  const bad = names.filter((n) => !makers[n]);
  if (!names.length || bad.length) {
    console.error("usage: bun tests/harness/fixtures.ts linux|qemu...");
    process.exit(2);
  }
  for (const n of names) console.log(JSON.stringify({ [n]: await makers[n]!() }));
}
