// The Store against the real Nix: publish an install tree, find it by identity, keep it
// through garbage collection, and stop finding it once it is gone. The index is checked
// where it is read: each way an entry can be damaged is said in one sentence and
// repaired from the store path's own manifest (or dropped); verifyStoreIndex changes
// nothing on a clean index and names each repair on a damaged one.
import { existsSync, lstatSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { workbenchLayout } from "../../f/common/layout.ts";
import { capture } from "../../f/common/run.ts";
import { buildIdentity } from "../../f/common/pipeline/identity.ts";
import { readManifest, writeManifest } from "../../f/common/pipeline/manifest_io.ts";
import { decideReuse } from "../../f/common/pipeline/reuse.ts";
import { lookupPublished, lookupPublishedEntry, publish, unpublish, verifyStoreIndex } from "../../f/common/pipeline/store.ts";
import { OWN_MANIFEST } from "../../f/common/pipeline/store_index.ts";
import { setupNixEnv } from "../harness/nix.ts";

const Demo = z.object({ kind: z.literal("demo"), binary: z.string().regex(/^\//), destdir: z.string(), store_path: z.string().nullable(), reused: z.boolean() });

/** A temporary Workbench with an install tree holding one script that prints `identity`. */
async function demoWorkbench(prefix: string, identity: string) {
  await setupNixEnv();
  const root = await mkdtemp(join(tmpdir(), prefix));
  const tree = join(root, "destdir");
  await mkdir(join(tree, "bin"), { recursive: true });
  await writeFile(join(tree, "bin", "demo"), `#!/bin/sh\necho ${identity}\n`, { mode: 0o755 });
  return { root, tree, layout: workbenchLayout({ KDEVFLOW_WORKBENCH: root }) };
}

describe("the Store with real Nix", () => {
  let root: string;
  let layout: ReturnType<typeof workbenchLayout>;
  let tree: string;
  const identity = buildIdentity({ test: `store-${process.pid}-${Date.now()}` });

  beforeAll(async () => {
    ({ root, tree, layout } = await demoWorkbench("kdevflow-store-", identity));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("publishes, roots, indexes by identity and rebases manifest paths into the store", async () => {
    expect(await lookupPublished("demo", identity, layout)).toBeNull();
    const key = `demo-1.0-vanilla-${identity}`;
    const built: z.infer<typeof Demo> = { kind: "demo", binary: join(tree, "bin", "demo"), destdir: tree, store_path: null, reused: false };
    const res = await publish({ layout, project: "demo", identity, key, tree, manifest: built, extra: (p) => ({ store_path: p }) });
    expect(res.storePath).toMatch(new RegExp(`^/nix/store/[a-z0-9]{32}-${key}$`));
    expect(await readFile(join(res.storePath, "bin", "demo"), "utf8")).toContain(identity);
    // The link under store-index is a GC root Nix knows about.
    const link = join(layout.systemDir, "store-index", key);
    expect(await readlink(link)).toBe(res.storePath);
    const roots = await capture(["nix-store", "--gc", "--print-roots"]);
    expect(roots).toContain(`${link} -> ${res.storePath}`);
    // The published manifest points into the store, not at the worktree's destdir.
    expect(res.manifest.binary).toBe(join(res.storePath, "bin", "demo"));
    expect(res.manifest.destdir).toBe(res.storePath);
    expect(res.manifest.store_path).toBe(res.storePath);
    expect(JSON.parse(await readFile(join(layout.systemDir, "store-index", `${key}.json`), "utf8"))).toEqual(res.manifest);
    expect(await lookupPublished("demo", identity, layout)).toEqual(res.manifest);
    // Another project with the same identity is not confused with it.
    expect(await lookupPublished("other", identity, layout)).toBeNull();

    const decision = await decideReuse(Demo, "demo", identity, true, layout);
    expect(decision.reuse).toBe(true);
    expect(decision.manifest).toEqual({ ...res.manifest, reused: true });
    expect((await decideReuse(Demo, "demo", identity, false, layout)).reason).toBe("disabled");

    // Publishing again is safe and gives the same store path (content-addressed).
    const again = await publish({ layout, project: "demo", identity, key, tree, manifest: built, extra: (p) => ({ store_path: p }) });
    expect(again.storePath).toBe(res.storePath);

    // Garbage collection keeps a rooted path.
    await capture(["nix-store", "--delete", res.storePath], { allowFailure: true });
    expect(existsSync(res.storePath)).toBe(true);

    // Once unpublished and its root gone, the path can be collected and is not found.
    await unpublish("demo", identity, layout);
    expect(lstatSync(link, { throwIfNoEntry: false })).toBeUndefined();
    expect(await lookupPublishedEntry("demo", identity, layout)).toBeNull();
    await capture(["nix-store", "--delete", res.storePath]);
    expect(existsSync(res.storePath)).toBe(false);
  });

  it("writes result.json atomically and refuses an invalid manifest", async () => {
    const dir = join(root, "build");
    await mkdir(dir, { recursive: true });
    const m = { kind: "demo", binary: "/x/bin/demo", destdir: "/x", store_path: null, reused: false };
    expect(await writeManifest(Demo, dir, m)).toEqual(m);
    expect(await readManifest(Demo, dir)).toEqual(m);
    await expect(writeManifest(Demo, dir, { ...m, binary: "relative" })).rejects.toThrow(/invalid manifest: binary/);
    expect(await readManifest(Demo, dir)).toEqual(m);
  });
});

describe("the Store index, checked where it is read", () => {
  let root: string;
  let layout: ReturnType<typeof workbenchLayout>;
  let tree: string;
  let storePath: string;
  let manifest: z.infer<typeof Demo>;
  const identity = buildIdentity({ test: `index-${process.pid}-${Date.now()}` });
  const key = `demo-2.0-vanilla-${identity}`;
  const index = () => join(layout.systemDir, "store-index");
  const keyJson = () => join(index(), `${key}.json`);
  const byIdentity = () => join(index(), "by-identity", `demo-${identity}.json`);
  const logged: string[] = [];
  const cutInHalf = async (path: string) => {
    const text = await readFile(path, "utf8");
    await writeFile(path, text.slice(0, Math.floor(text.length / 2)));
  };
  /** Every file under store-index with its content and mtime, to prove nothing changed. */
  const snapshot = async () => {
    const out: Record<string, string> = {};
    const walk = async (dir: string) => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isSymbolicLink()) out[p] = `-> ${await readlink(p)}`;
        else out[p] = `${(await stat(p)).mtimeMs} ${await readFile(p, "utf8")}`;
      }
    };
    await walk(index());
    return out;
  };

  beforeAll(async () => {
    ({ root, tree, layout } = await demoWorkbench("kdevflow-index-", identity));
    const built: z.infer<typeof Demo> = { kind: "demo", binary: join(tree, "bin", "demo"), destdir: tree, store_path: null, reused: false };
    const res = await publish({ layout, project: "demo", identity, key, tree, manifest: built, extra: (p) => ({ store_path: p }) });
    storePath = res.storePath;
    manifest = res.manifest;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    logged.length = 0;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const listen = () => vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void logged.push(a.join(" ")));
  const sentences = () => logged.filter((l) => l.startsWith("store: "));

  it("the store path holds its own manifest, with its own path written as @out@", async () => {
    const own = JSON.parse(await readFile(join(storePath, OWN_MANIFEST), "utf8"));
    expect(own).toEqual({ format: 1, project: "demo", identity, key, manifest: { kind: "demo", binary: "@out@/bin/demo", destdir: "@out@", store_path: "@out@", reused: false } });
    expect(manifest.binary).toBe(join(storePath, "bin", "demo"));
  });

  it("a published manifest cut in half: one sentence, rewritten from the store path, and the entry is found", async () => {
    await cutInHalf(keyJson());
    listen();
    expect(await lookupPublished("demo", identity, layout)).toEqual(manifest);
    expect(sentences()).toEqual([`store: ${key}.json does not parse; repaired from the manifest in ${storePath}`]);
    expect(JSON.parse(await readFile(keyJson(), "utf8"))).toEqual(manifest);
  });

  it("an identity entry cut in half: one sentence, rebuilt from the store path the index links to, and the entry is found", async () => {
    await cutInHalf(byIdentity());
    listen();
    expect(await lookupPublished("demo", identity, layout)).toEqual(manifest);
    expect(sentences()).toEqual([`store: by-identity/demo-${identity}.json does not parse; repaired from the manifest in ${storePath}`]);
    expect(JSON.parse(await readFile(byIdentity(), "utf8"))).toEqual({ key, store_path: storePath, manifest });
    // Read again: nothing more to say.
    logged.length = 0;
    expect(await lookupPublished("demo", identity, layout)).toEqual(manifest);
    expect(sentences()).toEqual([]);
  });

  it("an entry that holds another manifest than its store path is rewritten; a lost link is made again and rooted", async () => {
    await writeFile(byIdentity(), JSON.stringify({ key, store_path: storePath, manifest: { ...manifest, binary: "/somewhere/else" } }));
    await rm(join(index(), key));
    listen();
    expect(await lookupPublished("demo", identity, layout)).toEqual(manifest);
    expect(sentences()).toEqual([`store: by-identity/demo-${identity}.json held another manifest than the one in ${storePath}; the link ${key} was missing; repaired from the manifest in ${storePath}`]);
    expect(await readlink(join(index(), key))).toBe(storePath);
    expect(await capture(["nix-store", "--gc", "--print-roots"])).toContain(`${join(index(), key)} -> ${storePath}`);
  });

  it("an entry whose store path is gone is dropped, saying the build runs again", async () => {
    const other = buildIdentity({ test: `gone-${process.pid}-${Date.now()}` });
    const gone = `/nix/store/${"0".repeat(32)}-demo-gone-${other}`;
    const entryPath = join(index(), "by-identity", `demo-${other}.json`);
    await writeFile(entryPath, JSON.stringify({ key: `demo-gone-${other}`, store_path: gone, manifest: { kind: "demo" } }));
    listen();
    expect(await lookupPublishedEntry("demo", other, layout)).toBeNull();
    expect(sentences()).toEqual([`store: by-identity/demo-${other}.json points at ${gone}, which is gone; no store path holds that build, so the entry was dropped and the build runs again`]);
    expect(existsSync(entryPath)).toBe(false);
  });

  it("store verify changes nothing on a clean index", async () => {
    const before = await snapshot();
    const report = await verifyStoreIndex({ layout });
    expect(report).toEqual({ checked: 1, repairs: [] });
    expect(await snapshot()).toEqual(before);
  });

  it("store verify names each repair on a damaged index, and the index is clean after it", async () => {
    const other = buildIdentity({ test: `dangling-${process.pid}-${Date.now()}` });
    const gone = `/nix/store/${"1".repeat(32)}-demo-dangling-${other}`;
    await cutInHalf(keyJson());
    await cutInHalf(byIdentity());
    await symlink(gone, join(index(), `demo-dangling-${other}`));
    await writeFile(join(index(), `demo-orphan-${other}.json`), "{}");
    await writeFile(join(index(), `.demo-x.json.tmp-999999999-abc123`), "half");
    const dry = await verifyStoreIndex({ layout, dryRun: true });
    expect(dry.repairs.every((r) => r.startsWith("store (dry run, nothing changed): "))).toBe(true);
    expect(existsSync(join(index(), `demo-orphan-${other}.json`))).toBe(true);
    const report = await verifyStoreIndex({ layout });
    expect(report.checked).toBe(1);
    expect(report.repairs).toEqual([
      `store: by-identity/demo-${identity}.json does not parse; ${key}.json does not parse; repaired from the manifest in ${storePath}`,
      `store: the link demo-dangling-${other} points at ${gone}, which is gone; removed it and demo-dangling-${other}.json`,
      `store: .demo-x.json.tmp-999999999-abc123 is a temporary file of a writer that died; removed it`,
      `store: demo-orphan-${other}.json has no link demo-orphan-${other} beside it; removed it`,
    ]);
    expect(dry.repairs).toHaveLength(report.repairs.length);
    expect(await lookupPublished("demo", identity, layout)).toEqual(manifest);
    expect(await verifyStoreIndex({ layout })).toEqual({ checked: 1, repairs: [] });
  });
});
