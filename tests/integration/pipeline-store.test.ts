// The Store against the real Nix: publish an install tree, find it by identity, keep it
// through garbage collection, and stop finding it once it is gone.
import { existsSync, lstatSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { workbenchLayout } from "../../f/common/layout.ts";
import { capture } from "../../f/common/run.ts";
import { buildIdentity } from "../../f/common/pipeline/identity.ts";
import { readManifest, writeManifest } from "../../f/common/pipeline/manifest_io.ts";
import { decideReuse } from "../../f/common/pipeline/reuse.ts";
import { lookupPublished, lookupPublishedEntry, publish, unpublish } from "../../f/common/pipeline/store.ts";
import { setupNixEnv } from "../harness/nix.ts";

const Demo = z.object({ kind: z.literal("demo"), binary: z.string().regex(/^\//), destdir: z.string(), store_path: z.string().nullable(), reused: z.boolean() });

describe("the Store with real Nix", () => {
  let root: string;
  let layout: ReturnType<typeof workbenchLayout>;
  let tree: string;
  const identity = buildIdentity({ test: `store-${process.pid}-${Date.now()}` });

  beforeAll(async () => {
    await setupNixEnv();
    root = await mkdtemp(join(tmpdir(), "kdevflow-store-"));
    layout = workbenchLayout({ KDEVFLOW_WORKBENCH: root });
    tree = join(root, "destdir");
    await mkdir(join(tree, "bin"), { recursive: true });
    await writeFile(join(tree, "bin", "demo"), `#!/bin/sh\necho ${identity}\n`, { mode: 0o755 });
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
