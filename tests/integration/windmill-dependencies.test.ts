// What a Windmill server would install for kdevflow's scripts equals package-lock.json.
//
// On a server, a deployed Bun script (and an inline flow step) without a lock gets one
// from a dependency job. With a default workspace dependency file and no annotation in the
// code naming another, that job writes the file as the job's package.json and runs
// `bun install --save-text-lockfile` (backend windmill-common/src/workspace_dependencies.rs,
// WorkspaceDependenciesPrefetched::extract, "implicit" default in manual mode;
// windmill-worker/src/bun_executor.rs, gen_bun_lockfile and install_bun_lockfile); the
// lock it stores is that package.json, "//bun.lock", and the bun.lock. windmill-cli
// pushes dependencies/package.json with the workspace and passes it to the same job when
// it generates locks (cli/src/utils/metadata.ts, getRawWorkspaceDependencies). Here the
// job's install runs for real, with the Bun from package-lock.json, against the npm
// registry: what it resolves must be package-lock.json's version and tarball (integrity)
// of every runtime dependency, and a drifted pin must be named.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../f/common/run.ts";
import { BUN_DEPENDENCIES, bunDependenciesText, pinnedDependencies } from "../../scripts/deploy-metadata.ts";
import { bunModules, checkDependencyAnnotations, listWorkspace, resolutionAnnotations } from "../harness/conformance.ts";
import { REPO } from "../harness/wmill.ts";

const BUN = join(REPO, "node_modules/.bin/bun");
const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
});

interface Locked {
  version: string;
  integrity: string;
}

/** package-lock.json's version and integrity of each top-level package. */
async function packageLock(): Promise<Record<string, Locked>> {
  const lock = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string; integrity?: string }> };
  const out: Record<string, Locked> = {};
  for (const [key, p] of Object.entries(lock.packages)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key);
    if (m && p.version && p.integrity) out[m[1]!] = { version: p.version, integrity: p.integrity };
  }
  return out;
}

/** The top-level packages of a text bun.lock: `"name": ["name@version", registry, info, integrity]`. */
function bunLockPackages(text: string): Record<string, Locked> {
  // bun.lock is JSON with trailing commas.
  const lock = JSON.parse(text.replace(/,(\s*[}\]])/g, "$1")) as { packages: Record<string, unknown[]> };
  const out: Record<string, Locked> = {};
  for (const [key, entry] of Object.entries(lock.packages)) {
    const spec = String(entry[0]);
    out[key] = { version: spec.slice(spec.lastIndexOf("@") + 1), integrity: String(entry.at(-1)) };
  }
  return out;
}

/** Run the dependency job's install on `packageJson` as a worker does; the packages bun.lock holds. */
async function serverInstall(packageJson: string): Promise<Record<string, Locked>> {
  const dir = await mkdtemp(join(tmpdir(), "kdevflow-deps-"));
  temps.push(dir);
  await writeFile(join(dir, "package.json"), packageJson);
  await run([BUN, "install", "--save-text-lockfile"], { cwd: dir, quiet: true, timeoutMs: 300_000 });
  return bunLockPackages(await readFile(join(dir, "bun.lock"), "utf8"));
}

/** How each runtime dependency the install resolved differs from package-lock.json, one line each. */
function drift(resolved: Record<string, Locked>, locked: Record<string, Locked>, names: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const got = resolved[n];
    const want = locked[n];
    if (!got) out.push(`${n}: the server would not install it`);
    else if (!want) out.push(`${n}: package-lock.json does not lock it`);
    else if (got.version !== want.version) out.push(`${n}: the server would install ${got.version}, package-lock.json has ${want.version}`);
    else if (got.integrity !== want.integrity) out.push(`${n}: the server would install another tarball of ${got.version} than package-lock.json's`);
  }
  return out;
}

describe("dependencies/package.json pins what the server installs", () => {
  it("is generated from package.json's runtime dependencies at package-lock.json's versions", async () => {
    const committed = await readFile(join(REPO, BUN_DEPENDENCIES), "utf8");
    expect(committed).toBe(await bunDependenciesText(REPO));
    const pinned = (JSON.parse(committed) as { dependencies: Record<string, string> }).dependencies;
    const locked = await packageLock();
    const runtime = Object.keys((JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies);
    expect(Object.keys(pinned).sort()).toEqual([...runtime].sort());
    for (const name of runtime) expect(pinned[name], name).toBe(locked[name]!.version);
    // Exact versions: a range would let the install pick a newer release.
    for (const v of Object.values(pinned)) expect(v).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("the dependency job's bun install resolves every runtime dependency to package-lock.json's version and tarball", async () => {
    const pinned = await pinnedDependencies(REPO);
    const resolved = await serverInstall(await readFile(join(REPO, BUN_DEPENDENCIES), "utf8"));
    expect(drift(resolved, await packageLock(), Object.keys(pinned!))).toEqual([]);
  });

  it("names a dependency whose pin drifted from package-lock.json", async () => {
    const pinned = { ...(await pinnedDependencies(REPO))!, zod: "4.0.0" };
    const resolved = await serverInstall(`${JSON.stringify({ dependencies: pinned }, null, 2)}\n`);
    expect(drift(resolved, await packageLock(), Object.keys(pinned))).toEqual([`zod: the server would install 4.0.0, package-lock.json has ${(await packageLock()).zod!.version}`]);
  });

  it("is regenerated when package-lock.json moves (the committed file then differs)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-deps-lock-"));
    temps.push(dir);
    await writeFile(join(dir, "package.json"), await readFile(join(REPO, "package.json"), "utf8"));
    const lock = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8"));
    lock.packages["node_modules/yaml"].version = "2.0.0";
    await writeFile(join(dir, "package-lock.json"), JSON.stringify(lock));
    const text = await bunDependenciesText(dir);
    expect(text).toContain('"yaml": "2.0.0"');
    expect(text).not.toBe(await readFile(join(REPO, BUN_DEPENDENCIES), "utf8"));
  });

  it("a runtime dependency missing from package-lock.json is one sentence naming the entry", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-deps-missing-"));
    temps.push(dir);
    await writeFile(join(dir, "package.json"), JSON.stringify({ dependencies: { "left-pad": "^1.0.0" } }));
    await writeFile(join(dir, "package-lock.json"), JSON.stringify({ packages: {} }));
    await expect(pinnedDependencies(dir)).rejects.toThrow(/^package-lock\.json: packages\["node_modules\/left-pad"\]\.version: expected the locked version/);
  });
});

describe("every deployed Bun module resolves against that file", () => {
  it("no script, library or inline step under f/ carries an annotation that names another file or leaves Bun", async () => {
    const ws = await listWorkspace(REPO);
    expect(bunModules(ws).length).toBeGreaterThan(50);
    expect(await checkDependencyAnnotations(ws)).toEqual([]);
  });

  it("inline flow steps count as deployed modules", async () => {
    const ws = await listWorkspace(join(REPO, "tests/fixtures/windmill-workspace"));
    expect(bunModules(ws)).toEqual(expect.arrayContaining(["f/demo/hello__flow/shout.ts", "f/demo/hello__flow/on_failure.ts", "f/demo/words.ts"]));
  });

  it("reads annotations only as the server does: whole comment lines at the top, not prose", () => {
    expect(resolutionAnnotations("// npm packages come from dependencies/package.json\n// nodejs is not used\nexport const x = 1;\n")).toEqual([]);
    expect(resolutionAnnotations("\n//npm\n// package_json: heavy\nexport const x = 1;\n")).toEqual(["//npm", "// package_json: heavy"]);
    expect(resolutionAnnotations("export const x = 1;\n// native\n")).toEqual([]);
  });
});
