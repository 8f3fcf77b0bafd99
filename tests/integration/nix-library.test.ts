// The test library flake (tests/fixtures/nixos-flake) itself: the stand-in that every
// closure, boot and bring-up test uses, as this run's copy (tests/harness/flakes.ts).
// Its closure must be bootable for real, so the initrd's archive and both init scripts
// are checked here as they are built.

import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nixArgv } from "../../f/common/nix.ts";
import { capture, run } from "../../f/common/run.ts";
import { main as buildClosure } from "../../f/nix/build/build_closure.ts";
import { main as lockConfig } from "../../f/nix/build/lock_config.ts";
import { main as renderConfig } from "../../f/nix/build/render_config.ts";
import { copyTestLibrary, RUN_MARKER, testFlakes, type TestFlakes } from "../harness/flakes.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { suiteSetup } from "../harness/suite.ts";

const FIXTURE = resolve(import.meta.dirname, "../fixtures/nixos-flake");
const ENV_KEYS = ["KDEVFLOW_WORKBENCH", "KDEVFLOW_NIXOS_FLAKE", "SYSTEM_DIR", "WORKERS_DIR", "WORKER_INDEX"] as const;

interface CpioEntry {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data: Buffer;
}

/** Read a newc ("070701") cpio archive. */
function readCpio(buf: Buffer): CpioEntry[] {
  const entries: CpioEntry[] = [];
  const pad4 = (n: number) => (n + 3) & ~3;
  let off = 0;
  for (;;) {
    const magic = buf.toString("latin1", off, off + 6);
    if (magic !== "070701") throw new Error(`bad cpio magic at ${off}: ${magic}`);
    const field = (i: number) => parseInt(buf.toString("latin1", off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = buf.toString("utf8", off + 110, off + 110 + nameSize - 1);
    const dataStart = pad4(off + 110 + nameSize);
    if (name === "TRAILER!!!") break;
    entries.push({ name, mode, uid: field(2), gid: field(3), mtime: field(5), data: buf.subarray(dataStart, dataStart + size) });
    off = pad4(dataStart + size);
  }
  return entries;
}

let root: string;
let flakes: TestFlakes;
let closure: Awaited<ReturnType<typeof buildClosure>>;
let savedEnv: Record<string, string | undefined>;

// Every test awaits ready(): a failed setup fails them all (tests/harness/suite.ts).
const ready = suiteSetup(async () => {
  await setupNixEnv();
  flakes = await testFlakes();
  root = mkdtempSync(join(tmpdir(), "kdevflow-nix-library-"));
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  process.env.KDEVFLOW_WORKBENCH = join(root, "wb");
  const rendered = await renderConfig({ vm: "boot", nixos_flake: flakes.library, profiles: ["devel"], test_suites: [] });
  await lockConfig(rendered.config_dir, rendered.nixos_flake, false);
  closure = await buildClosure(rendered.config_dir);
});

afterAll(() => {
  if (savedEnv) {
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  }
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the library's lock: no relative paths, and this run's copies only", () => {
  it("pins this run's nixpkgs copy by its absolute path and its current hash", async () => {
    await ready();
    const lock = JSON.parse(readFileSync(join(flakes.libraryDir, "flake.lock"), "utf8"));
    expect(lock.nodes.nixpkgs.locked).toMatchObject({ type: "path", path: flakes.nixpkgsDir });
    expect(lock.nodes.nixpkgs.original).toEqual({ type: "path", path: flakes.nixpkgsDir });
    expect(lock.nodes.nixpkgs.locked.narHash).toBe(await capture(nixArgv(["hash", "path", flakes.nixpkgsDir])));
  });

  it("no input of the library or of a per-VM config that locks it is a relative path", async () => {
    await ready();
    const vmLock = JSON.parse(readFileSync(join(root, "wb", "workers", "0", "nix", "boot", "flake.lock"), "utf8")) as { nodes: Record<string, { locked?: { type: string; path?: string }; original?: { type: string; path?: string } }> };
    const libLock = JSON.parse(readFileSync(join(flakes.libraryDir, "flake.lock"), "utf8")) as typeof vmLock;
    const paths = [...Object.values(vmLock.nodes), ...Object.values(libLock.nodes)].flatMap((n) => [n.locked, n.original]).filter((r) => r?.type === "path").map((r) => r!.path!);
    expect(paths.length).toBeGreaterThanOrEqual(3);
    for (const p of paths) expect(p, p).toMatch(/^\//);
  });

  it("builds a closure from a library copy that cannot already be in the store", async () => {
    await ready();
    // A fresh marker makes content no run ever had: its store path is not valid before.
    const fresh = await copyTestLibrary(join(root, "fresh-library"));
    const hash = await capture(nixArgv(["hash", "path", "--type", "sha256", "--base32", fresh]));
    const storePath = await capture(["nix-store", "--print-fixed-path", "--recursive", "sha256", hash, "source"]);
    const valid = async () => (await run(nixArgv(["path-info", storePath]), { allowFailure: true, quiet: true, capture: true })).exitCode === 0;
    expect(await valid(), `${storePath} was in the store before this test made its source`).toBe(false);
    const rendered = await renderConfig({ vm: "fresh", nixos_flake: `path:${fresh}`, profiles: ["devel"], test_suites: [] });
    await lockConfig(rendered.config_dir, rendered.nixos_flake, false);
    const built = await buildClosure(rendered.config_dir);
    expect(existsSync(built.init)).toBe(true);
    expect(await valid()).toBe(true);
    expect(readFileSync(join(storePath, RUN_MARKER), "utf8")).toBe(readFileSync(join(fresh, RUN_MARKER), "utf8"));
    const vmLock = JSON.parse(readFileSync(join(rendered.config_dir, "flake.lock"), "utf8"));
    expect(vmLock.nodes["nixos-flake"].locked.narHash).toBe(await capture(nixArgv(["hash", "path", fresh])));
  });

  it("this run's copies hold the run's marker, in the store as on disk", async () => {
    await ready();
    for (const dir of [flakes.libraryDir, flakes.nixpkgsDir, flakes.devshellDir]) {
      expect(readFileSync(join(dir, RUN_MARKER), "utf8")).toBe(`${flakes.runId}\n`);
    }
    const meta = JSON.parse(await capture(nixArgv(["flake", "metadata", "--json", "--no-write-lock-file", flakes.library]))) as { path: string };
    expect(readFileSync(join(meta.path, RUN_MARKER), "utf8")).toBe(`${flakes.runId}\n`);
  });
});

describe("the initrd: stage 1 over virtiofs", () => {
  let entries: Map<string, CpioEntry>;
  beforeAll(async () => {
    await ready().catch(() => undefined);
    if (closure) entries = new Map(readCpio(gunzipSync(readFileSync(closure.initrd))).map((e) => [e.name, e]));
  });

  it("holds a static busybox, the applets /init uses and the mount points", async () => {
    await ready();
    const busybox = entries.get("bin/busybox")!;
    expect(busybox.data.equals(readFileSync("/bin/busybox"))).toBe(true);
    for (const applet of ["sh", "mount", "umount", "mkdir", "cat", "echo", "switch_root"]) {
      const e = entries.get(`bin/${applet}`)!;
      expect(e.mode & 0o170000, applet).toBe(0o120000);
      expect(e.data.toString()).toBe("busybox");
    }
    for (const d of ["dev", "proc", "sys", "newroot", "lib/modules"]) expect(entries.get(d)!.mode & 0o170000, d).toBe(0o040000);
  });

  it("has an executable /init that mounts the store from the virtiofs tag `store` and runs the cmdline's init=", async () => {
    await ready();
    const init = entries.get("init")!;
    expect(init.mode & 0o111).toBe(0o111);
    const text = init.data.toString();
    expect(text.startsWith("#!/bin/sh\n")).toBe(true);
    expect(text).toContain("mount -t devtmpfs devtmpfs /dev");
    expect(text).toContain("mount -t tmpfs -o mode=0755 root /newroot");
    expect(text).toContain("mount -t virtiofs -o ro store /newroot/nix/store");
    expect(text).toContain("mount -t virtiofs -o ro modules /newroot/lib/modules");
    expect(text).toContain('init=*) init="${arg#init=}"');
    expect(text).toMatch(/exec switch_root \/newroot "\$init"\n/);
    expect(init.data.equals(readFileSync(join(FIXTURE, "builders/initrd-init.sh")))).toBe(true);
  });

  it("is reproducible: fixed owners and times", async () => {
    await ready();
    const all = readCpio(gunzipSync(readFileSync(closure.initrd)));
    const names = all.map((e) => e.name);
    expect(names).toEqual([...names].sort());
    for (const e of all) expect([e.name, e.uid, e.gid, e.mtime]).toEqual([e.name, 0, 0, 1]);
  });

  it("passes a shell syntax check", async () => {
    await ready();
    await capture(["/bin/busybox", "sh", "-n", join(FIXTURE, "builders/initrd-init.sh")]);
  });
});

describe("the toplevel: stage 2, bootspec and closure", () => {
  it("has an init run by the closure's busybox that prints the markers and powers off", async () => {
    await ready();
    const text = readFileSync(closure.init, "utf8");
    const shebang = /^#!(\S+)\n/.exec(text)![1]!;
    expect(shebang).toMatch(/^\/nix\/store\/[a-z0-9]{32}-busybox-static\/bin\/sh$/);
    expect(readlinkSync(shebang)).toBe("busybox");
    expect(text).toContain(`top=${closure.toplevel}\n`);
    expect(text).toContain("release=$(uname -r)");
    expect(text).toContain('echo "KDEVFLOW-GUEST-UP release=$release hostname=$(hostname)"');
    expect(text).toContain("mount -t virtiofs -o ro modules /lib/modules");
    expect(text).toContain('ls "/lib/modules/$release"');
    expect(text).toContain('echo "KDEVFLOW-GUEST-DONE"');
    expect(text.trimEnd().endsWith("poweroff -f")).toBe(true);
    expect(statSync(closure.init).mode & 0o111).toBe(0o111);
    await capture(["/bin/busybox", "sh", "-n", closure.init]);
  });

  it("holds the bootspec and keeps init, initrd and busybox in its closure", async () => {
    await ready();
    const spec = JSON.parse(readFileSync(join(closure.toplevel, "boot.json"), "utf8"))["org.nixos.bootspec.v1"];
    expect(spec).toEqual({
      init: closure.init,
      initrd: closure.initrd,
      toplevel: closure.toplevel,
      kernelParams: ["console=ttyS0"],
      label: "kdevflow-test-imageless",
      system: "x86_64-linux",
    });
    const paths = (await capture(nixArgv(["path-info", "-r", closure.toplevel]))).split("\n");
    expect(paths).toContain(closure.initrd.replace(/\/initrd$/, ""));
    expect(paths.some((p) => p.endsWith("-busybox-static"))).toBe(true);
  });
});

describe("the rest of the library", () => {
  it("passes the host toolchain through devShells.x86_64-linux.build", async () => {
    await ready();
    const out = await capture(nixArgv(["develop", `${flakes.library}#build`, "--command", "sh", "-c", 'printf "%s %s" "$KDEVFLOW_TEST_DEVSHELL" "$(command -v cc)"']));
    expect(out).toBe("1 /usr/bin/cc");
  });

  it("exports the imageless template and the modules render_config imports", async () => {
    await ready();
    const evalJson = async (attr: string, apply: string) => JSON.parse(await capture(nixArgv(["eval", "--json", `${flakes.library}#${attr}`, "--apply", apply])));
    const names = {
      templates: await evalJson("templates", "builtins.attrNames"),
      ...(await evalJson(
        "nixosModules",
        "m: { profiles = builtins.attrNames m.profiles; suites = builtins.attrNames m.test-suites; shares = m ? shares; }",
      )),
    };
    expect(names).toEqual({
      templates: ["imageless"],
      profiles: ["build-tools", "controller", "devel", "monitoring"],
      suites: ["blktests", "fstests", "gitr", "ltp", "mmtests", "pynfs", "selftests", "sysbench"],
      shares: true,
    });
    expect(existsSync(join(FIXTURE, "templates/imageless/flake.nix"))).toBe(true);
  });
});
