// f/nix/build for real: Debian's Nix 2.8, offline, with this run's copy of the test
// library flake (tests/harness/flakes.ts), copied again where a test changes it.
// One test runs the flow file itself through the local engine (./kdevflow); the others
// call the three steps in the flow's order, in this process.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../f/common/errors.ts";
import { ClosureResult } from "../../f/common/manifest.ts";
import { capture } from "../../f/common/run.ts";
import { main as buildClosure } from "../../f/nix/build/build_closure.ts";
import { main as lockConfig } from "../../f/nix/build/lock_config.ts";
import type { Inputs as NixInputs } from "../../f/nix/build/inputs.ts";
import { main as renderConfig } from "../../f/nix/build/render_config.ts";
import { gitSource } from "../harness/fixtures.ts";
import { copyTestLibrary, testFlakes } from "../harness/flakes.ts";
import { useWorkbenchEnv } from "../harness/env.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { suiteSetup } from "../harness/suite.ts";

const REPO = resolve(import.meta.dirname, "../..");
const KEYS = JSON.parse(readFileSync(join(REPO, "tests/fixtures/golden/nix/ssh-keys.json"), "utf8")) as Record<string, string>;

let root: string;
let library: string;
let restoreEnv: (() => void) | undefined;

/** Remove one attribute line of a library copy's file (a library that lacks a module). */
function removeAttr(file: string, line: RegExp): void {
  const text = readFileSync(file, "utf8");
  expect(text).toMatch(line);
  writeFileSync(file, text.replace(line, ""));
}

/** A new version of a library copy: its backend writes another /etc/kdevflow/backend. */
function changeLibrary(lib: string, version: string): void {
  const file = join(lib, "modules/backends/imageless/default.nix");
  const text = readFileSync(file, "utf8");
  const changed = text.replace(/environment\.etc\."kdevflow\/backend"\.text = "imageless[^"]*\\n";/, `environment.etc."kdevflow/backend".text = "imageless ${version}\\n";`);
  expect(changed).not.toBe(text);
  writeFileSync(file, changed);
}

/** A private copy of this run's test library, which a test may change. */
function copyLibrary(name: string): Promise<string> {
  return copyTestLibrary(join(root, name));
}

function nixDir(): string {
  return join(root, "wb", "workers", "0", "nix");
}

type FlowInputs = Partial<NixInputs> & { vm: string };

/** The flow's three steps, wired as flow.yaml wires them. */
async function runSteps(i: FlowInputs) {
  const rendered = await renderConfig(i);
  const locked = await lockConfig(rendered.config_dir, rendered.nixos_flake, rendered.update_lock);
  const built = await buildClosure(locked.config_dir);
  return { rendered, locked, built };
}

/** A file of the closure's /etc (the stand-in NixOS builds it from environment.etc). */
function etc(toplevel: string, file: string): string {
  return readFileSync(join(toplevel, "etc", file), "utf8");
}

/** What the test library's modules recorded: /etc/kdevflow/<kind>/ names what was composed. */
function composed(toplevel: string, kind: "profiles" | "testSuites"): string[] {
  const dir = join(toplevel, "etc", "kdevflow", kind);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** The closure's stage-2 fstab: the file systems the library's shares module made. */
function fstab(toplevel: string): string {
  return readFileSync(join(toplevel, "kdevflow", "fstab"), "utf8");
}

// Every test awaits ready(): a failed setup fails them all (tests/harness/suite.ts).
const ready = suiteSetup(async () => {
  await setupNixEnv();
  root = mkdtempSync(join(tmpdir(), "kdevflow-nix-build-"));
  library = (await testFlakes()).libraryDir;
  restoreEnv = useWorkbenchEnv(join(root, "wb"));
  process.env.KDEVFLOW_NIXOS_FLAKE = `path:${library}`;
});

afterAll(() => {
  restoreEnv?.();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the flow renders, locks and builds with the test library", () => {
  it("runs f/nix/build through the local engine: a fully featured closure whose init and initrd exist", async () => {
    await ready();
    const run = spawnSync(join(REPO, "kdevflow"), ["run", "f/nix/build", "--set", "vm=full"], { cwd: REPO, env: process.env, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const result = ClosureResult.parse(JSON.parse(run.stdout));
    expect(result.config_dir).toBe(join(nixDir(), "full"));
    expect(existsSync(result.init)).toBe(true);
    expect(existsSync(result.initrd)).toBe(true);
    expect(result.init).toBe(`${result.toplevel}/init`);
    expect(result.kernel_params).toEqual([]);
    // render_config printed both files into the log.
    expect(run.stderr).toContain(`----- ${join(result.config_dir, "flake.nix")}`);
    expect(run.stderr).toContain("nixos-flake.monitoring.enable = true;");
    expect(readdirSync(result.config_dir).sort()).toEqual(["default.nix", "flake.lock", "flake.nix", "result", "result.json"]);
    expect(JSON.parse(readFileSync(join(result.config_dir, "result.json"), "utf8"))).toEqual(result);
    expect(composed(result.toplevel, "profiles")).toEqual(["build-tools", "devel", "monitoring"]);
    expect(composed(result.toplevel, "testSuites")).toEqual(["blktests", "fstests", "gitr", "ltp", "mmtests", "pynfs", "selftests", "sysbench"]);
    expect(etc(result.toplevel, "hostname")).toBe("full\n");
    const boot = JSON.parse(readFileSync(join(result.toplevel, "boot.json"), "utf8"));
    expect(boot["org.nixos.bootspec.v1"]).toMatchObject({ init: result.init, initrd: result.initrd, toplevel: result.toplevel });
  });

  it("is idempotent: a second run changes no file and builds the same toplevel", async () => {
    await ready();
    const first = await runSteps({ vm: "again", profiles: ["devel"], test_suites: ["ltp"] });
    const second = await runSteps({ vm: "again", profiles: ["devel"], test_suites: ["ltp"] });
    expect(first.rendered.changed).toBe(true);
    expect(second.rendered.changed).toBe(false);
    expect(second.locked.changed).toBe(false);
    expect(second.built).toEqual(first.built);
  });

  it("carries shares, keys, the user, the host name, both gates and a source override into the closure", async () => {
    await ready();
    const src = join(root, "ltp-source");
    mkdirSync(src);
    writeFileSync(join(src, "MARKER"), "ltp override\n");
    const { built, rendered } = await runSteps({
      vm: "custom",
      profiles: ["devel", "monitoring", "controller"],
      test_suites: ["ltp"],
      shares: [{ source: "/srv/linux", target: "/linux", tag: "linux", read_only: true }, { source: "/srv/out" }],
      ssh_keys: [KEYS.ed25519!, KEYS.ecdsa_hostile_comment!],
      hostname: "box-1",
      user: "alice",
      source_overrides: [{ package: "ltp", url: src }],
    });
    expect(rendered.shares).toEqual([
      { tag: "linux", source: "/srv/linux", target: "/linux", read_only: true },
      { tag: "srv_out", source: "/srv/out", target: "/srv/out", read_only: false },
    ]);
    expect(rendered.user).toBe("alice");
    expect(etc(built.toplevel, "hostname")).toBe("box-1\n");
    // Both gates were set: the gated profiles did their part.
    expect(composed(built.toplevel, "profiles")).toEqual(["controller", "devel", "monitoring"]);
    // The library's account is alice; keys for root and alice, the managed key first,
    // a comment holding quotes, ${ and a backslash byte for byte.
    expect(etc(built.toplevel, "passwd")).toMatch(/^alice:x:1000:100:/m);
    expect(etc(built.toplevel, "passwd")).not.toMatch(/^user:/m);
    const managed = readFileSync(`${rendered.ssh_key}.pub`, "utf8").trim();
    for (const who of ["root", "alice"]) {
      expect(etc(built.toplevel, `ssh/authorized_keys.d/${who}`)).toBe(`${managed}\n${KEYS.ed25519}\n${KEYS.ecdsa_hostile_comment}\n`);
    }
    expect(fstab(built.toplevel)).toBe("linux /linux virtiofs ro\nsrv_out /srv/out virtiofs defaults\n");
    // The override reached the package through the overlay, and with it the closure.
    const ltp = etc(built.toplevel, "kdevflow/testSuites/ltp").trim().split(" ")[1]!;
    expect(readFileSync(join(ltp, "share/ltp/src/MARKER"), "utf8")).toBe("ltp override\n");
    expect(readFileSync(join(rendered.config_dir, "flake.nix"), "utf8")).toContain(`    ltp-src = {\n      type = "path";\n      path = "${src}";\n      flake = false;\n    };\n`);
    expect(readFileSync(join(rendered.config_dir, "default.nix"), "utf8")).toContain("ltp = prev.ltp.overrideAttrs (_: { src = inputs.ltp-src; });");
  });

  it("builds a source override from a git repository (git+file://, a ref)", async () => {
    await ready();
    const repo = await gitSource(join(root, "fio-git"), "main", { MARKER: "fio from git\n" });
    const { built, rendered } = await runSteps({ vm: "gitsrc", profiles: ["devel"], test_suites: [], source_overrides: [{ package: "fio", url: `git+file://${repo}?ref=main` }] });
    expect(readFileSync(join(rendered.config_dir, "flake.nix"), "utf8")).toContain(`    fio-src = {\n      type = "git";\n      url = "file://${repo}";\n      ref = "main";\n      flake = false;\n    };\n`);
    // devel records fio; the library's own overlay (version) and ours (src) both apply.
    const fio = etc(built.toplevel, "kdevflow/profiles/devel").trim().split(" ")[1]!;
    expect(fio).toMatch(/-fio-stand-in-nixos-flake$/);
    expect(readFileSync(join(fio, "share/fio/src/MARKER"), "utf8")).toBe("fio from git\n");
  });
});

describe("concurrent runs on one VM", () => {
  it("serialise on the config lock: both succeed and the directory holds one run's files, whole", async () => {
    await ready();
    const runs = await Promise.all([
      runSteps({ vm: "race", hostname: "race-a", profiles: ["devel"], test_suites: [] }),
      runSteps({ vm: "race", hostname: "race-b", profiles: ["devel"], test_suites: [] }),
    ]);
    const dir = runs[0].rendered.config_dir;
    const text = readFileSync(join(dir, "default.nix"), "utf8");
    const host = /networking\.hostName = "(race-[ab])";/.exec(text)![1];
    const result = JSON.parse(readFileSync(join(dir, "result.json"), "utf8"));
    expect(etc(result.toplevel, "hostname")).toBe(`${host}\n`);
    for (const r of runs) expect(existsSync(r.built.init)).toBe(true);
    expect(readdirSync(join(dir, "..")).filter((n) => n.startsWith("race") && n !== "race")).toEqual([]);
  });
});

describe("a changed library and update_lock", () => {
  it("keeps building the pinned library and says so; update_lock re-pins and builds the new one", async () => {
    await ready();
    const lib = await copyLibrary("library-changes");
    const first = await runSteps({ vm: "pin", nixos_flake: `path:${lib}` });
    expect(first.locked.library_stale).toBe(false);

    changeLibrary(lib, "v2");

    const stale = await runSteps({ vm: "pin", nixos_flake: `path:${lib}` });
    expect(stale.locked.library_stale).toBe(true);
    expect(stale.locked.note).toMatch(/^WARNING: the library changed since flake.lock pinned it/);
    expect(stale.locked.library_pinned).toBe(first.locked.library_pinned);
    expect(stale.built.toplevel).toBe(first.built.toplevel);
    expect(etc(stale.built.toplevel, "kdevflow/backend")).toBe("imageless\n");

    const updated = await runSteps({ vm: "pin", nixos_flake: `path:${lib}`, update_lock: true });
    expect(updated.locked.action).toBe("update");
    expect(updated.locked.library_stale).toBe(false);
    const now = await capture(["nix", "--extra-experimental-features", "nix-command flakes", "hash", "path", lib]);
    expect(updated.locked.library_pinned).toBe(now);
    expect(updated.built.toplevel).not.toBe(first.built.toplevel);
    expect(etc(updated.built.toplevel, "kdevflow/backend")).toBe("imageless v2\n");

    const after = await runSteps({ vm: "pin", nixos_flake: `path:${lib}` });
    expect(after.locked.library_stale).toBe(false);
    expect(after.built.toplevel).toBe(updated.built.toplevel);
  });

  it("names update_lock when the pinned copy of a changed library is gone from the store", async () => {
    await ready();
    const lib = await copyLibrary("library-gone");
    await runSteps({ vm: "gone", nixos_flake: `path:${lib}` });
    const meta = JSON.parse(await capture(["nix", "--extra-experimental-features", "nix-command flakes", "flake", "metadata", "--json", "--no-write-lock-file", `path:${lib}`]));
    changeLibrary(lib, "v3");
    await capture(["nix", "--extra-experimental-features", "nix-command flakes", "store", "delete", meta.path]);
    await expect(runSteps({ vm: "gone", nixos_flake: `path:${lib}` })).rejects.toThrow(/pinned copy is no longer in the Nix store; run the flow with update_lock: true/);
    const fixed = await runSteps({ vm: "gone", nixos_flake: `path:${lib}`, update_lock: true });
    expect(etc(fixed.built.toplevel, "kdevflow/backend")).toBe("imageless v3\n");
  });
});

describe("bad input: one sentence, before anything is written", () => {
  it.each<[string, FlowInputs, RegExp]>([
    ["an unknown profile", { vm: "bad", profiles: ["devel", "gaming" as "devel"] }, /^profiles\[1\]: expected one of "devel"/],
    ["an unknown test suite", { vm: "bad", test_suites: ["xfstests" as "fstests"] }, /^test_suites\[0\]: expected one of "fstests"/],
    ["a share with a relative path", { vm: "bad", shares: [{ source: "srv/linux" }] }, /^shares\[0\]\.source: expected an absolute path/],
    ["an SSH key that is not a public key", { vm: "bad", ssh_keys: [KEYS.private_ed25519_first_line!] }, /^ssh_keys\[0\]: expected an OpenSSH public key line/],
    ["an SSH key with a broken key blob", { vm: "bad", ssh_keys: ["ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQCtkLMqWFnqOA5j0mUg9WXAaDIiyKz alice@x"] }, /^ssh_keys\[0\]: .*does not hold a ssh-ed25519 key/],
    ["an invalid hostname", { vm: "bad", hostname: 'x"; y = 1; "' }, /^hostname: expected a host name/],
    ["a VM name with /", { vm: "../../etc" }, /^vm: expected a name/],
    ["a VM name with ..", { vm: "a..b" }, /^vm: expected a name/],
    ["a library without the imageless template", { vm: "bad", nixos_flake: "/nonexistent/nixos-flake" }, /^nixos_flake: expected a nixos-flake library holding templates\/imageless\/flake\.nix, got "path:\/nonexistent\/nixos-flake"\.$/],
    ["a share tag virtiofsd and the boot flow cannot use", { vm: "bad", shares: [{ source: "/srv", tag: "host-data" }] }, /^shares\[0\]\.tag: expected a share tag of 1 to 36 letters, digits or '_'/],
    ["a mount point that is not absolute", { vm: "bad", shares: [{ source: "/srv", target: "mnt/srv" }] }, /^shares\[0\]\.target: expected an absolute path for the guest mount point/],
  ])("%s", async (_name, inputs, message) => {
    await ready();
    const before = existsSync(nixDir()) ? readdirSync(nixDir()).sort() : [];
    const err = await runSteps(inputs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.trim().split("\n")).toHaveLength(1);
    expect(existsSync(nixDir()) ? readdirSync(nixDir()).sort() : []).toEqual(before);
  });
});

describe("bad input the library decides: a profile or a test suite it lacks", () => {
  it.each<[string, (lib: string) => void, FlowInputs, RegExp]>([
    ["a test suite the library lacks", (lib) => removeAttr(join(lib, "modules/testSuites/default.nix"), /^  gitr = .*\n/m), { vm: "bad", profiles: [], test_suites: ["ltp", "gitr"] }, /^test_suites: expected each entry to be one of the test suites path:\S+ has \(blktests, fstests, ltp, mmtests, pynfs, selftests, sysbench\), got "gitr"\.$/],
    ["a profile the library lacks", (lib) => removeAttr(join(lib, "flake.nix"), /^ {10}controller = .*\n/m), { vm: "bad", profiles: ["devel", "controller"], test_suites: [] }, /^profiles: expected each entry to be one of the profiles path:\S+ has \(build-tools, devel, monitoring\), got "controller"\.$/],
  ])("%s", async (name, change, inputs, message) => {
    await ready();
    const lib = await copyLibrary(`library-lacks-${name.replace(/\W+/g, "-")}`);
    change(lib);
    const before = existsSync(nixDir()) ? readdirSync(nixDir()).sort() : [];
    const err = await runSteps({ ...inputs, nixos_flake: `path:${lib}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
    expect(existsSync(nixDir()) ? readdirSync(nixDir()).sort() : []).toEqual(before);
  });
});

describe("lock_config and build_closure check their config_dir", () => {
  it.each([
    ["a relative path", "nix/vm1", /^config_dir: expected the absolute path of a per-VM config directory/],
    ["a directory render_config did not write", "/nonexistent/nix/vm1", /^config_dir: expected a directory holding a rendered flake\.nix \(run render_config first\), got "\/nonexistent\/nix\/vm1"\.$/],
  ])("%s", async (_name, dir, message) => {
    await ready();
    await expect(lockConfig(dir, "", false)).rejects.toThrow(message);
    await expect(buildClosure(dir)).rejects.toThrow(message);
    await expect(lockConfig(dir, "", false)).rejects.toBeInstanceOf(InputError);
  });
});

describe("the module stand-in is strict, like NixOS", () => {
  async function renderThenEdit(vm: string, edit: (text: string) => string) {
    const rendered = await renderConfig({ vm, profiles: ["devel"], test_suites: ["ltp"] });
    const file = join(rendered.config_dir, "default.nix");
    writeFileSync(file, edit(readFileSync(file, "utf8")));
    const locked = await lockConfig(rendered.config_dir, rendered.nixos_flake, false);
    return buildClosure(locked.config_dir);
  }

  it("fails the build on a misspelt option", async () => {
    await ready();
    await expect(renderThenEdit("typo-option", (t) => t.replace("networking.hostName", "networking.hostname"))).rejects.toThrow(
      /The option `networking.hostname' does not exist/,
    );
  });

  it("fails the build on a misspelt import", async () => {
    await ready();
    await expect(renderThenEdit("typo-import", (t) => t.replace("profiles.devel", "profiles.devell"))).rejects.toThrow(/attribute 'devell' missing/);
  });

  it("fails the build on a value of the wrong type", async () => {
    await ready();
    await expect(renderThenEdit("typo-type", (t) => t.replace(/networking\.hostName = "[^"]*";/, "networking.hostName = 42;"))).rejects.toThrow(
      /A definition for option `networking.hostName' is not of type `string matching the pattern/,
    );
  });

  it("fails the build on a share in the old list form (nixos-flake.shares is keyed by mount point)", async () => {
    await ready();
    await expect(
      renderThenEdit("typo-shares", (t) => t.replace("  imports = [\n", "  nixos-flake.shares = [ { tag = \"x\"; mountPoint = \"/x\"; } ];\n  imports = [\n    nixos-flake.nixosModules.mounts.shares\n")),
    ).rejects.toThrow(/A definition for option `nixos-flake.shares' is not of type `attribute set of \(submodule\)'/);
  });
});

describe("a missing or malformed bootspec is a clear error", () => {
  // The per-VM default.nix replaces the toplevel with a folder holding the given boot.json.
  const toplevelWith = (bootJson: string | null) =>
    `  system.build.toplevel = lib.mkForce (pkgs.writeTextFile { name = "bad-toplevel"; text = ${JSON.stringify(bootJson ?? "")}; destination = ${JSON.stringify(bootJson === null ? "/other.json" : "/boot.json")}; });\n}\n`;
  it.each<[string, string | null, RegExp]>([
    ["missing", null, /boot\.json does not exist: the closure has no bootspec/],
    ["not JSON", "not json", /boot\.json is not valid JSON/],
    ["without org.nixos.bootspec.v1", '{"org.nixos.bootspec.v2":{}}', /has no "org\.nixos\.bootspec\.v1" object/],
    ["without initrd", '{"org.nixos.bootspec.v1":{"init":"/nix/store/00000000000000000000000000000000-x/init"}}', /org\.nixos\.bootspec\.v1\.initrd is missing/],
  ])("%s", async (name, bootJson, message) => {
    await ready();
    const vm = `bootspec-${name.replace(/\W+/g, "-")}`;
    const rendered = await renderConfig({ vm, profiles: [], test_suites: [] });
    const file = join(rendered.config_dir, "default.nix");
    writeFileSync(file, readFileSync(file, "utf8").replace(/}\n$/, toplevelWith(bootJson)));
    const locked = await lockConfig(rendered.config_dir, rendered.nixos_flake, false);
    await expect(buildClosure(locked.config_dir)).rejects.toThrow(message);
  });
});
