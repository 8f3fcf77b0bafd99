// The test library flake (tests/fixtures/nixos-flake) and its stand-in nixpkgs
// (tests/fixtures/nixpkgs) themselves, as this run's copies (tests/harness/flakes.ts):
// the stand-ins every closure, boot and bring-up test uses. Its closure must be bootable
// for real, so the initrd's archive, both init scripts and the /etc the guest gets
// (users, the sshd configuration, the keys) are checked here as they are built.

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
import { useWorkbenchEnv } from "../harness/env.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { suiteSetup } from "../harness/suite.ts";

const FIXTURES = resolve(import.meta.dirname, "../fixtures");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILto7pELaaNriBBVd4vfOzUX9SVuo1P4M6Pp+bWFkepZ alice@laptop";

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
let restoreEnv: (() => void) | undefined;

// Every test awaits ready(): a failed setup fails them all (tests/harness/suite.ts).
const ready = suiteSetup(async () => {
  await setupNixEnv();
  flakes = await testFlakes();
  root = mkdtempSync(join(tmpdir(), "kdevflow-nix-library-"));
  restoreEnv = useWorkbenchEnv(join(root, "wb"));
  const rendered = await renderConfig({ vm: "boot", nixos_flake: flakes.library, profiles: ["devel"], test_suites: [], ssh_keys: [KEY], user: "alice" });
  await lockConfig(rendered.config_dir, rendered.nixos_flake, false);
  closure = await buildClosure(rendered.config_dir);
});

afterAll(() => {
  restoreEnv?.();
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

describe("the initrd: stage 1 over virtiofs, as NixOS's systemd initrd does it", () => {
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
    for (const d of ["dev", "proc", "sys", "sysroot"]) expect(entries.get(d)!.mode & 0o170000, d).toBe(0o040000);
  });

  it("has the fstab NixOS makes for the initrd: /nix/store and /lib/modules over virtiofs tags store and modules", async () => {
    await ready();
    expect(entries.get("etc/fstab")!.data.toString()).toBe("modules /lib/modules virtiofs defaults\nstore /nix/store virtiofs defaults\n");
  });

  it("has an executable /init that makes the root from root=tmpfs, mounts the fstab under it and runs the cmdline's init=", async () => {
    await ready();
    const init = entries.get("init")!;
    expect(init.mode & 0o111).toBe(0o111);
    const text = init.data.toString();
    expect(text.startsWith("#!/bin/sh\n")).toBe(true);
    expect(text).toContain('root=*) root="${arg#root=}"');
    expect(text).toContain('[ "$root" = tmpfs ] || fail');
    expect(text).toContain("mount -t tmpfs -o mode=0755 rootfs /sysroot");
    expect(text).toContain('mount -t "$fstype" -o "$options" "$device" "/sysroot$mountpoint"');
    expect(text).toMatch(/exec switch_root \/sysroot "\$init"\n/);
    expect(init.data.equals(readFileSync(join(FIXTURES, "nixpkgs/nixos/modules/system/stage-1-init.sh")))).toBe(true);
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
    await capture(["/bin/busybox", "sh", "-n", join(FIXTURES, "nixpkgs/nixos/modules/system/stage-1-init.sh")]);
  });
});

describe("the toplevel: stage 2, /etc, bootspec and closure", () => {
  it("has an init run by the closure's busybox that prints the markers, then hands PID 1 to init (or powers off with kdevflow.oneshot)", async () => {
    await ready();
    const text = readFileSync(closure.init, "utf8");
    const shebang = /^#!(\S+)\n/.exec(text)![1]!;
    expect(shebang).toMatch(/^\/nix\/store\/[a-z0-9]{32}-busybox-static\/bin\/sh$/);
    expect(readlinkSync(shebang)).toBe("busybox");
    expect(text).toContain(`top=${closure.toplevel}\n`);
    expect(text).toContain('echo "KDEVFLOW-GUEST-UP release=$release hostname=$(hostname)"');
    expect(text).toContain('ls "/lib/modules/$release"');
    expect(text).toContain('*" kdevflow.oneshot "*)');
    expect(text).toContain('echo "KDEVFLOW-GUEST-DONE"');
    expect(text.trimEnd().endsWith(`exec ${shebang.replace(/sh$/, "init")}`)).toBe(true);
    expect(statSync(closure.init).mode & 0o111).toBe(0o111);
    await capture(["/bin/busybox", "sh", "-n", closure.init]);
  });

  it("holds the bootspec with the kernel parameters the config sets (none here)", async () => {
    await ready();
    const spec = JSON.parse(readFileSync(join(closure.toplevel, "boot.json"), "utf8"))["org.nixos.bootspec.v1"];
    expect(spec).toEqual({
      init: closure.init,
      initrd: closure.initrd,
      toplevel: closure.toplevel,
      kernelParams: [],
      label: "NixOS stand-in 26.05 (kdevflow tests)",
      system: "x86_64-linux",
    });
  });

  it("gives the guest the /etc NixOS would: users, key-only sshd for root, the keys in authorized_keys.d", async () => {
    await ready();
    const etc = (f: string) => readFileSync(join(closure.toplevel, "etc", f), "utf8");
    expect(etc("hostname")).toBe("boot\n");
    const passwd = etc("passwd").split("\n");
    expect(passwd).toContainEqual(expect.stringMatching(/^root:x:0:0::\/root:\/nix\/store\/\S+-busybox-static\/bin\/sh$/));
    expect(passwd).toContainEqual(expect.stringMatching(/^alice:x:1000:100::\/home\/alice:/));
    expect(passwd).toContainEqual(expect.stringMatching(/^sshd:x:\d+:\d+:SSH privilege separation user:/));
    expect(etc("group")).toMatch(/^wheel:x:1:alice$/m);
    // root's break-glass password (the library sets "root"), no password for the others
    expect(etc("shadow")).toMatch(/^root:\$6\$[^:]+:/m);
    expect(etc("shadow")).toMatch(/^alice:\*:/m);
    expect(etc("ssh/sshd_config")).toMatch(/^PermitRootLogin yes$/m);
    expect(etc("ssh/sshd_config")).toMatch(/^PasswordAuthentication no$/m);
    expect(etc("ssh/sshd_config")).toMatch(/^AuthorizedKeysFile %h\/\.ssh\/authorized_keys \/etc\/ssh\/authorized_keys\.d\/%u$/m);
    for (const user of ["root", "alice"]) {
      const keys = etc(`ssh/authorized_keys.d/${user}`).trim().split("\n");
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^ssh-ed25519 \S+ kdevflow@/);
      expect(keys[1]).toBe(KEY);
    }
    expect(readFileSync(join(closure.toplevel, "kdevflow/gettys"), "utf8")).toBe("hvc0\n");
    expect(readFileSync(join(closure.toplevel, "kdevflow/daemons"), "utf8")).toMatch(/^\/nix\/store\/\S+-openssh-host\/bin\/sshd -D -e -f \/etc\/ssh\/sshd_config\n$/);
  });

  it("keeps init, initrd, busybox and the host's sshd with its libraries in its closure", async () => {
    await ready();
    const paths = (await capture(nixArgv(["path-info", "-r", closure.toplevel]))).split("\n");
    expect(paths).toContain(closure.initrd.replace(/\/initrd$/, ""));
    expect(paths.some((p) => p.endsWith("-busybox-static"))).toBe(true);
    const openssh = paths.find((p) => p.endsWith("-openssh-host"))!;
    expect(existsSync(join(openssh, "bin/sshd"))).toBe(true);
    expect(existsSync(join(openssh, "lib/ld-linux-x86-64.so.2"))).toBe(true);
    expect(existsSync(join(openssh, "lib/libwrap.so.0"))).toBe(true);
  });
});

describe("the library's interface, on the real module system", () => {
  const evalJson = async (attr: string, apply: string) => JSON.parse(await capture(nixArgv(["eval", "--json", `${flakes.library}#${attr}`, "--apply", apply])));

  it("passes the host toolchain through devShells build-kernel, build-qemu and build", async () => {
    await ready();
    for (const shell of ["build-kernel", "build-qemu", "build"]) {
      const out = await capture(nixArgv(["develop", `${flakes.library}#${shell}`, "--command", "sh", "-c", 'printf "%s %s" "$KDEVFLOW_TEST_DEVSHELL" "$(command -v cc)"']));
      expect(out, shell).toBe("1 /usr/bin/cc");
    }
  });

  it("exports what the real library exports, by the same names", async () => {
    await ready();
    const names = {
      templates: await evalJson("templates", "builtins.attrNames"),
      overlays: await evalJson("overlays", "builtins.attrNames"),
      packages: await evalJson("packages", 's: builtins.attrNames s."x86_64-linux"'),
      devShells: await evalJson("devShells", 's: builtins.attrNames s."x86_64-linux"'),
      ...(await evalJson(
        "nixosModules",
        "m: { modules = builtins.attrNames m; backends = builtins.attrNames m.backends; profiles = builtins.attrNames m.profiles; testSuites = builtins.attrNames m.testSuites; mounts = builtins.attrNames m.mounts; }",
      )),
    };
    expect(names).toEqual({
      templates: ["default", "imageless"],
      overlays: ["default"],
      packages: ["qemu", "virtiofsd"],
      devShells: ["build", "build-kernel", "build-qemu", "default"],
      modules: ["backends", "default", "mounts", "profiles", "testSuites", "user"],
      backends: ["imageless"],
      profiles: ["build-tools", "controller", "devel", "monitoring"],
      testSuites: ["blktests", "fstests", "gitr", "ltp", "mmtests", "pynfs", "selftests", "sysbench"],
      mounts: ["shares"],
    });
  });

  it("evaluates with nixpkgs' real lib: the options carry the module system's types and their declarations", async () => {
    await ready();
    const vm = `path:${join(root, "wb", "workers", "0", "nix", "boot")}`;
    const opt = async (path: string) =>
      JSON.parse(await capture(nixArgv(["eval", "--json", `${vm}#nixosConfigurations.vm.options.${path}`, "--apply", "o: { type = o.type.name; description = o.type.description; }"])));
    expect(await opt("nixos-flake.user.name")).toEqual({ type: "str", description: "string" });
    expect(await opt("services.openssh.settings")).toMatchObject({ type: "submodule" });
    expect((await opt("networking.hostName")).type).toMatch(/^strMatching /);
    expect(await opt("users.users")).toMatchObject({ type: "attrsOf" });
    expect(JSON.parse(await capture(nixArgv(["eval", "--json", `${vm}#nixosConfigurations.vm.config.nixos-flake.user.name`])))).toBe("alice");
    expect(await capture(nixArgv(["eval", "--raw", `${flakes.nixpkgs}#lib.version`]))).toMatch(/^\d+\.\d+/);
  });
});
