import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { workbenchLayout } from "../../f/common/layout.ts";
import { alternatesContent, barePaths, gitArgv, mirrorPaths, parseGitFile, slotName, worktreePaths } from "../../f/workbench/plan.ts";
import { summarise } from "../../f/workbench/report.ts";

const layout = workbenchLayout({ KDEVFLOW_WORKBENCH: "/wb", WORKER_INDEX: "3" });

describe("paths", () => {
  it("puts mirrors and Bares under SYSTEM_DIR, clones in progress beside them, locks under locks/", () => {
    expect(mirrorPaths(layout, "linux")).toEqual({
      dir: "/wb/system/mirror/linux.git",
      incoming: "/wb/system/mirror/.linux.git.incoming",
      marker: "/wb/system/mirror/linux.git/kdevflow-mirror.json",
      lock: "/wb/system/locks/mirror-linux.lock",
    });
    expect(barePaths(layout, "qemu")).toEqual({
      dir: "/wb/system/bare/qemu.git",
      incoming: "/wb/system/bare/.qemu.git.incoming",
      marker: "/wb/system/bare/qemu.git/kdevflow-bare.json",
      lock: "/wb/system/locks/bare-qemu.lock",
      alternates: "/wb/system/bare/qemu.git/objects/info/alternates",
      exclude: "/wb/system/bare/qemu.git/info/exclude",
    });
    expect(alternatesContent(layout, "qemu")).toBe("/wb/system/mirror/qemu.git/objects\n");
  });
  it("honours SYSTEM_DIR and WORKERS_DIR given separately", () => {
    const l = workbenchLayout({ SYSTEM_DIR: "/sys-wb", WORKERS_DIR: "/workers", WORKER_INDEX: "0" });
    expect(mirrorPaths(l, "linux").dir).toBe("/sys-wb/mirror/linux.git");
    expect(worktreePaths(l, "linux", {}).worktree).toBe("/workers/0/linux");
  });
});

describe("slots and worktrees", () => {
  it("uses the worker's own slot by default", () => {
    expect(worktreePaths(layout, "linux", {})).toEqual({
      slot: "3",
      worktree: "/wb/workers/3/linux",
      build_dir: "/wb/workers/3/linux/build",
      destdir: "/wb/workers/3/linux/destdir",
      adopt: "/wb/workers/3/.adopt/linux",
      lease: "/wb/system/locks/lease-3-linux.json",
      lock: "/wb/system/locks/worktree-3-linux.lock",
    });
  });
  it.each([
    [{ shared: true }, "shared"],
    [{ shared: true, sharedName: "" }, "shared"],
    [{ shared: true, sharedName: "bisect" }, "bisect"],
    [{ shared: false }, "3"],
  ])("%j -> slot %s", (choice, slot) => {
    expect(slotName(layout, choice)).toBe(slot);
    expect(worktreePaths(layout, "qemu", choice).worktree).toBe(`/wb/workers/${slot}/qemu`);
  });
  it.each([
    [{ shared: true, sharedName: "7" }, "sharedName: expected a name that is not a number"],
    [{ shared: true, sharedName: "a/b" }, "sharedName: expected a name"],
    [{ shared: true, sharedName: ".." }, "sharedName: expected a name"],
    [{ shared: false, sharedName: "x" }, "sharedName: expected no shared name unless shared is true"],
  ])("refuses %j", (choice, message) => {
    expect(() => slotName(layout, choice)).toThrow(message);
  });
});

describe("git command lines", () => {
  it("clones a mirror into its incoming directory and keeps unreachable objects", () => {
    expect(gitArgv.cloneMirror("https://h/x.git", "/m/.x.git.incoming")).toEqual(["git", "clone", "--mirror", "--quiet", "https://h/x.git", "/m/.x.git.incoming"]);
    expect(gitArgv.mirrorKeepObjects("/m")).toEqual(["git", "-C", "/m", "config", "gc.pruneExpire", "never"]);
  });
  it("refreshes a mirror with prune and tags", () => {
    expect(gitArgv.refreshMirror("/m")).toEqual(["git", "-C", "/m", "fetch", "--prune", "--tags", "--quiet", "origin"]);
  });
  it("fetches a Bare's heads with prune into refs/remotes/mirror and its tags without prune", () => {
    expect(gitArgv.fetchBareHeads("/b")).toEqual(["git", "-C", "/b", "fetch", "--prune", "--no-tags", "--quiet", "mirror"]);
    expect(gitArgv.fetchBareTags("/b")).toEqual(["git", "-C", "/b", "fetch", "--no-tags", "--quiet", "mirror", "+refs/tags/*:refs/tags/*"]);
    // Neither touches refs/heads: no refspec names it as a destination.
    expect([...gitArgv.fetchBareHeads("/b"), ...gitArgv.fetchBareTags("/b")].join(" ")).not.toMatch(/:refs\/heads/);
  });
  it("adds a worktree detached and forced, then syncs it with a detached checkout", () => {
    expect(gitArgv.worktreeAdd("/b", "/w/0/linux", "c0ffee")).toEqual(["git", "-C", "/b", "worktree", "add", "--force", "--force", "--detach", "--quiet", "/w/0/linux", "c0ffee"]);
    expect(gitArgv.checkout("/w/0/linux", "c0ffee")).toEqual(["git", "-C", "/w/0/linux", "checkout", "--force", "--detach", "--quiet", "c0ffee"]);
  });
  it("verifies a user's rev after --end-of-options so it can never be an option", () => {
    expect(gitArgv.verifyCommit("/b", "--exec=x")).toEqual(["git", "-C", "/b", "rev-parse", "--verify", "--quiet", "--end-of-options", "--exec=x^{commit}"]);
  });
  it("keeps a developer branch under refs/heads", () => {
    expect(gitArgv.updateBranch("/b", "b4/x", "c0ffee")).toEqual(["git", "-C", "/b", "update-ref", "-m", "kdevflow: keepBranch", "refs/heads/b4/x", "c0ffee"]);
  });
});

describe("parseGitFile", () => {
  it.each([
    ["gitdir: /b/worktrees/linux\n", "/b/worktrees/linux"],
    ["gitdir: ../x", "../x"],
    ["", null],
    ["ref: refs/heads/x", null],
  ])("%j -> %s", (text, want) => {
    expect(parseGitFile(text)).toBe(want);
  });
});

describe("summarise", () => {
  it("combines a mirror result and a Bare result per source", () => {
    const changes = { new: ["refs/tags/v1"], updated: [], deleted: [], truncated: false, counts: { new: 1, updated: 0, deleted: 0 } };
    const r = summarise(
      { name: "linux", url: "/u", mirror: "/m", action: "created", refs: 2, changes, repaired: ["removed an interrupted clone"] },
      { name: "linux", mirror: "/m", bare: "/b", action: "created", repaired: [], refs: 3, branches: 1, changes },
      null,
    );
    expect(r).toEqual({
      name: "linux",
      url: "/u",
      mirror: "/m",
      bare: "/b",
      mirror_refs: 2,
      bare_refs: 3,
      branches: 1,
      action: { mirror: "created", bare: "created" },
      changes: { mirror: changes, bare: changes },
      repaired: ["removed an interrupted clone"],
      error: null,
    });
  });
  it("keeps a failed source's error", () => {
    expect(summarise({ name: "qemu", url: "/u", error: "boom" }, null, "boom")).toMatchObject({ name: "qemu", bare: null, error: "boom" });
  });
});

// ---- the Windmill files: each script's form is what the server infers from main ----

const WB = join(import.meta.dirname, "../../f/workbench");
const require = createRequire(import.meta.url);

async function inferredSchema(file: string) {
  const wasm = await import("windmill-parser-wasm-ts");
  wasm.initSync({ module: readFileSync(require.resolve("windmill-parser-wasm-ts/windmill_parser_wasm_bg.wasm")) });
  const { argSigToJsonSchemaType } = require("windmill-utils-internal");
  const sig = JSON.parse(wasm.parse_deno(readFileSync(file, "utf8")));
  const properties: Record<string, Record<string, unknown>> = {};
  const required: string[] = [];
  for (const arg of sig.args) {
    const p: Record<string, unknown> = {};
    argSigToJsonSchemaType(arg.typ, p as never);
    if (arg.default !== undefined && arg.default !== null) p.default = arg.default;
    properties[arg.name] = p;
    if (!arg.has_default) required.push(arg.name);
  }
  return { properties, required };
}

describe.each(["prepare_worktree", "sync_mirrors", "sync_bares"])("%s.script.yaml", (name) => {
  it("has the schema the server infers from main, with a description per field", async () => {
    const meta = parse(readFileSync(join(WB, `${name}.script.yaml`), "utf8"));
    expect(meta).toMatchObject({ lock: "", kind: "script" });
    expect(meta.summary).toBeTruthy();
    const want = await inferredSchema(join(WB, `${name}.ts`));
    expect(meta.schema.required).toEqual(want.required);
    expect(Object.keys(meta.schema.properties)).toEqual(Object.keys(want.properties));
    expect(meta.schema.order).toEqual(Object.keys(want.properties));
    for (const [key, prop] of Object.entries(want.properties)) {
      const { description, ...rest } = meta.schema.properties[key];
      expect(description, `${name}.${key} description`).toBeTruthy();
      expect(rest).toEqual(prop);
    }
  });
});

describe.each(["init__flow", "fetch__flow"])("%s/flow.yaml", (flow) => {
  const doc = parse(readFileSync(join(WB, flow, "flow.yaml"), "utf8"));
  it("runs on one worker and points only at scripts that exist", () => {
    expect(doc.value.same_worker).toBe(true);
    for (const m of doc.value.modules) {
      expect(m.value.type).toBe("script");
      expect(existsSync(join(WB, "../..", `${m.value.path}.ts`)), m.value.path).toBe(true);
    }
  });
  it("passes every required input of each script", async () => {
    for (const m of doc.value.modules) {
      const meta = parse(readFileSync(join(WB, "../..", `${m.value.path}.script.yaml`), "utf8"));
      for (const req of meta.schema.required) expect(Object.keys(m.value.input_transforms)).toContain(req);
    }
  });
  it("is valid for windmill-yaml-validator", () => {
    const { WindmillYamlValidator, getValidationTargetFromFilename } = require("windmill-yaml-validator");
    const path = join(WB, flow, "flow.yaml");
    const res = new WindmillYamlValidator().validate(readFileSync(path, "utf8"), getValidationTargetFromFilename(path));
    expect(res.errors).toEqual([]);
  });
});

describe("refresh.schedule.yaml", () => {
  it("is valid for windmill-yaml-validator", () => {
    const { WindmillYamlValidator, getValidationTargetFromFilename } = require("windmill-yaml-validator");
    const path = join(WB, "refresh.schedule.yaml");
    const res = new WindmillYamlValidator().validate(readFileSync(path, "utf8"), getValidationTargetFromFilename(path));
    expect(res.errors).toEqual([]);
  });
});
