// The Workbench layout from the environment: derivation from one root, explicit
// overrides, absolute paths enforced, WORKER_INDEX a number, names that make one path
// component.

import { describe, expect, it } from "vitest";
import { isInputError } from "../../f/common/errors.ts";
import { checkName, defaultWorkbenchRoot, parseWorkerIndex, systemPaths, workbenchLayout, type Env } from "../../f/common/layout.ts";

describe("workbenchLayout", () => {
  it.each<[string, Env, { root: string; systemDir: string; workersDir: string; workerIndex: number; slotDir: string }]>([
    [
      "everything from KDEVFLOW_WORKBENCH",
      { KDEVFLOW_WORKBENCH: "/srv/wb", HOME: "/home/u" },
      { root: "/srv/wb", systemDir: "/srv/wb/system", workersDir: "/srv/wb/workers", workerIndex: 0, slotDir: "/srv/wb/workers/0" },
    ],
    [
      "the default root under XDG_DATA_HOME",
      { XDG_DATA_HOME: "/data", HOME: "/home/u" },
      { root: "/data/kdevflow", systemDir: "/data/kdevflow/system", workersDir: "/data/kdevflow/workers", workerIndex: 0, slotDir: "/data/kdevflow/workers/0" },
    ],
    [
      "the default root under HOME when XDG_DATA_HOME is unset",
      { HOME: "/home/u" },
      { root: "/home/u/.local/share/kdevflow", systemDir: "/home/u/.local/share/kdevflow/system", workersDir: "/home/u/.local/share/kdevflow/workers", workerIndex: 0, slotDir: "/home/u/.local/share/kdevflow/workers/0" },
    ],
    [
      "a relative XDG_DATA_HOME is ignored, as the XDG spec says",
      { XDG_DATA_HOME: "data", HOME: "/home/u" },
      { root: "/home/u/.local/share/kdevflow", systemDir: "/home/u/.local/share/kdevflow/system", workersDir: "/home/u/.local/share/kdevflow/workers", workerIndex: 0, slotDir: "/home/u/.local/share/kdevflow/workers/0" },
    ],
    [
      "worker variables (a Windmill worker) win over the root",
      { KDEVFLOW_WORKBENCH: "/srv/wb", SYSTEM_DIR: "/var/lib/kdev/system", WORKERS_DIR: "/scratch/workers", WORKER_INDEX: "3" },
      { root: "/srv/wb", systemDir: "/var/lib/kdev/system", workersDir: "/scratch/workers", workerIndex: 3, slotDir: "/scratch/workers/3" },
    ],
    [
      "trailing slashes are dropped",
      { KDEVFLOW_WORKBENCH: "/srv/wb/", SYSTEM_DIR: "/sys-dir//", WORKER_INDEX: "12" },
      { root: "/srv/wb", systemDir: "/sys-dir", workersDir: "/srv/wb/workers", workerIndex: 12, slotDir: "/srv/wb/workers/12" },
    ],
  ])("%s", (_name, env, want) => {
    expect(workbenchLayout(env)).toEqual(want);
  });

  it.each([
    ["SYSTEM_DIR", { KDEVFLOW_WORKBENCH: "/wb", SYSTEM_DIR: "relative/system" }],
    ["WORKERS_DIR", { KDEVFLOW_WORKBENCH: "/wb", WORKERS_DIR: "./workers" }],
    ["KDEVFLOW_WORKBENCH", { KDEVFLOW_WORKBENCH: "wb" }],
  ])("a relative %s is refused with an InputError naming it", (field, env) => {
    let caught: unknown;
    try {
      workbenchLayout(env);
    } catch (err) {
      caught = err;
    }
    expect(isInputError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(new RegExp(`^${field}: expected an absolute path, got `));
  });

  it.each(["x", "1a", "-1", "1.5", " 1", "1234567", "0x10"])("WORKER_INDEX %j is refused", (value) => {
    expect(() => workbenchLayout({ KDEVFLOW_WORKBENCH: "/wb", WORKER_INDEX: value })).toThrow(/^WORKER_INDEX: expected a non-negative whole number/);
    expect(() => parseWorkerIndex(value)).toThrow(/WORKER_INDEX/);
  });

  it("WORKER_INDEX empty, as a worker passes a whitelisted variable it does not have, is slot 0", () => {
    expect(workbenchLayout({ KDEVFLOW_WORKBENCH: "/wb", WORKER_INDEX: "" }).workerIndex).toBe(0);
    expect(() => parseWorkerIndex("")).toThrow(/WORKER_INDEX/);
  });

  it.each([["0", 0], ["7", 7], ["007", 7], ["999999", 999999]])("WORKER_INDEX %j is %d", (value, n) => {
    expect(parseWorkerIndex(value)).toBe(n);
  });

  it("does not touch the disk: a root that does not exist is fine", () => {
    expect(workbenchLayout({ KDEVFLOW_WORKBENCH: "/nonexistent/kdevflow-layout-test" }).systemDir).toBe("/nonexistent/kdevflow-layout-test/system");
  });

  it("defaultWorkbenchRoot prefers XDG_DATA_HOME", () => {
    expect(defaultWorkbenchRoot({ XDG_DATA_HOME: "/x", HOME: "/h" })).toBe("/x/kdevflow");
  });
});

describe("systemPaths", () => {
  const l = workbenchLayout({ KDEVFLOW_WORKBENCH: "/wb" });
  it.each([
    ["mirror", systemPaths.mirror(l, "linux"), "/wb/system/mirror/linux.git"],
    ["bare", systemPaths.bare(l, "qemu"), "/wb/system/bare/qemu.git"],
    ["storeIndex", systemPaths.storeIndex(l), "/wb/system/store-index"],
    ["ccache", systemPaths.ccache(l), "/wb/system/ccache"],
    ["locks", systemPaths.locks(l), "/wb/system/locks"],
    ["sshDir", systemPaths.sshDir(l), "/wb/system/ssh"],
  ])("%s", (_n, got, want) => {
    expect(got).toBe(want);
  });
});

describe("checkName", () => {
  it.each(["linux", "qemu-7.2", "vm_1", "A", "a.b"])("accepts %j", (name) => {
    expect(checkName("vm", name)).toBe(name);
  });
  it.each(["", ".hidden", "-flag", "a/b", "a..b", "..", "with space", "é", "a".repeat(65)])("refuses %j with an InputError naming the field", (name) => {
    expect(() => checkName("vm_name", name)).toThrow(/^vm_name: expected a name of at most 64/);
  });
  it("takes another maximum length", () => {
    expect(() => checkName("label", "a".repeat(41), 40)).toThrow(/at most 40/);
    expect(checkName("label", "a".repeat(40), 40)).toHaveLength(40);
  });
});
