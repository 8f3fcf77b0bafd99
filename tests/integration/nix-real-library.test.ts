// f/nix/build against the real nixos-flake library: KDEVFLOW_REAL_NIXOS_FLAKE (scripts/
// test.sh points it at the reference copy beside the checkout when there is one), else
// github:linux-kdevops/nixos-flake fetched. The library's own nixpkgs (a nixos-26.05
// checkout, several GB) is out of reach offline, so its copy gets this run's stand-in
// nixpkgs: nixpkgs' real lib.evalModules with NixOS's option types for what the library
// and the render set (tests/fixtures/nixpkgs). Each case renders, locks and builds
// through the flow's three steps, then reads the composed config back from
// nixosConfigurations.vm: what the library made of what kdevflow rendered.
//
// It also holds the test library to the real one's interface: the same attribute paths,
// option names and types, template shape and shell names.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { nixArgv } from "../../f/common/nix.ts";
import { capture, run } from "../../f/common/run.ts";
import { main as buildClosure } from "../../f/nix/build/build_closure.ts";
import { main as lockConfig } from "../../f/nix/build/lock_config.ts";
import { renderFlakeNix, TEMPLATE_PATH } from "../../f/nix/build/render.ts";
import { main as renderConfig } from "../../f/nix/build/render_config.ts";
import { gitSource } from "../harness/fixtures.ts";
import { realLibraryCopy, testFlakes } from "../harness/flakes.ts";
import { useWorkbenchEnv } from "../harness/env.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { suiteSetup } from "../harness/suite.ts";
import { planFrom } from "../unit/nix-fixtures.ts";

const KEYS = JSON.parse(readFileSync(resolve(import.meta.dirname, "../fixtures/golden/nix/ssh-keys.json"), "utf8")) as Record<string, string>;
/** A key whose comment holds a quote and ${ (the golden file has one holding both, and a backslash). */
const QUOTE_KEY = KEYS.ed25519!.replace("alice@laptop", 'alice "the admin" ${HOME}');

let root: string;
let real: { dir: string; ref: string; source: string };
let restoreEnv: (() => void) | undefined;

// Every test awaits ready(): a failed setup fails them all (tests/harness/suite.ts).
const ready = suiteSetup(async () => {
  await setupNixEnv();
  root = mkdtempSync(join(tmpdir(), "kdevflow-nix-real-"));
  real = await realLibraryCopy(join(root, "nixos-flake"));
  restoreEnv = useWorkbenchEnv(join(root, "wb"));
});

afterAll(() => {
  restoreEnv?.();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Render, lock and build against the real library, as the flow does. */
async function build(inputs: Record<string, unknown>) {
  const rendered = await renderConfig({ nixos_flake: real.ref, ...inputs });
  const locked = await lockConfig(rendered.config_dir, rendered.nixos_flake, rendered.update_lock);
  const built = await buildClosure(locked.config_dir);
  return { rendered, built };
}

/** Read the composed configuration back: `apply` gets nixosConfigurations.vm. */
async function composed<T>(configDir: string, apply: string): Promise<T> {
  return JSON.parse(await capture(nixArgv(["eval", "--json", `path:${configDir}#nixosConfigurations.vm`, "--apply", apply]))) as T;
}

const IMPORTED = `vm: { profiles = builtins.attrNames vm.config.nixos-flake; monitoring = vm.config.nixos-flake.monitoring.enable or null; controller = vm.config.nixos-flake.controller.enable or null; hostName = vm.config.networking.hostName; }`;

describe("f/nix/build renders, locks, builds and composes against the real library", () => {
  it("defaults: every guest profile and all eight suites; monitoring enabled, controller not imported", async () => {
    await ready();
    const { rendered, built } = await build({ vm: "defaults" });
    expect(built.init).toBe(`${built.toplevel}/init`);
    const got = await composed<Record<string, unknown>>(rendered.config_dir, `vm: ((${IMPORTED}) vm) // { kernelModules = vm.config.boot.kernelModules; sudo = vm.config.security.sudo.wheelNeedsPassword; user = vm.config.nixos-flake.user.name; }`);
    expect(got).toMatchObject({ monitoring: true, controller: null, hostName: "defaults", user: "user", sudo: false });
    // fstests (xfs) and the imageless backend (loop, atkbd) each added their modules.
    expect(got.kernelModules).toEqual(expect.arrayContaining(["loop", "atkbd", "xfs"]));
    // The library's account exists, named by its own default, holding the managed key.
    expect(readFileSync(join(built.toplevel, "etc/passwd"), "utf8")).toMatch(/^user:x:1000:/m);
    expect(readFileSync(join(built.toplevel, "etc/ssh/authorized_keys.d/user"), "utf8")).toMatch(/^ssh-ed25519 \S+ kdevflow@/);
  });

  it("[devel] with [fstests, blktests]: those modules and no others", async () => {
    await ready();
    const { rendered } = await build({ vm: "devel", profiles: ["devel"], test_suites: ["fstests", "blktests"] });
    const got = await composed<Record<string, unknown>>(
      rendered.config_dir,
      `vm: ((${IMPORTED}) vm) // { fsgqa = vm.config.users.users ? fsgqa; xfstestsUnit = vm.config.systemd.services ? "xfstests@"; bashCompletion = vm.config.programs.bash.completion.enable; }`,
    );
    expect(got).toMatchObject({ monitoring: null, controller: null, fsgqa: true, xfstestsUnit: true, bashCompletion: true });
  });

  it("[monitoring]: the gate is set and the monitor units exist", async () => {
    await ready();
    const { rendered } = await build({ vm: "monitoring", profiles: ["monitoring"], test_suites: [] });
    const got = await composed<Record<string, unknown>>(rendered.config_dir, `vm: ((${IMPORTED}) vm) // { units = builtins.filter (n: builtins.substring 0 8 n == "monitor-") (builtins.attrNames vm.config.systemd.services); }`);
    expect(got).toMatchObject({ monitoring: true, controller: null });
    expect(got.units).toEqual(expect.arrayContaining(["monitor-sysstat@"]));
  });

  it("[controller]: the gate is set and the control node gets libvirtd", async () => {
    await ready();
    const { rendered } = await build({ vm: "controller", profiles: ["controller"], test_suites: [] });
    const got = await composed<Record<string, unknown>>(rendered.config_dir, `vm: ((${IMPORTED}) vm) // { libvirtd = vm.config.virtualisation.libvirtd.enable; flakes = vm.config.nix.settings.experimental-features; }`);
    expect(got).toMatchObject({ controller: true, monitoring: null, libvirtd: true, flakes: ["nix-command", "flakes"] });
  });

  it("two shares, one read-only: nixos-flake.shares keyed by mount point, and the fileSystems the library makes of them", async () => {
    await ready();
    const { rendered, built } = await build({
      vm: "shares",
      profiles: [],
      test_suites: [],
      shares: [{ source: "/srv/linux", target: "/mnt/linux", tag: "linux" }, { source: "/srv/results", target: "/mnt/results", read_only: true }],
    });
    const got = await composed<Record<string, unknown>>(rendered.config_dir, `vm: { shares = vm.config.nixos-flake.shares; fs = builtins.intersectAttrs vm.config.nixos-flake.shares vm.config.fileSystems; }`);
    expect(got).toEqual({
      shares: { "/mnt/linux": { tag: "linux", options: [] }, "/mnt/results": { tag: "mnt_results", options: ["ro"] } },
      fs: {
        "/mnt/linux": { device: "linux", fsType: "virtiofs", mountPoint: "/mnt/linux", neededForBoot: false, options: ["defaults"] },
        "/mnt/results": { device: "mnt_results", fsType: "virtiofs", mountPoint: "/mnt/results", neededForBoot: false, options: ["ro"] },
      },
    });
    expect(rendered.shares).toEqual([
      { tag: "linux", source: "/srv/linux", target: "/mnt/linux", read_only: false },
      { tag: "mnt_results", source: "/srv/results", target: "/mnt/results", read_only: true },
    ]);
    expect(readFileSync(join(built.toplevel, "kdevflow/fstab"), "utf8")).toBe("linux /mnt/linux virtiofs defaults\nmnt_results /mnt/results virtiofs ro\n");
  });

  it("two SSH keys whose comments hold \" and ${: on root and the library's user, byte for byte, the managed key first", async () => {
    await ready();
    const keys = [QUOTE_KEY, KEYS.ecdsa_hostile_comment!];
    const { rendered, built } = await build({ vm: "keys", profiles: [], test_suites: [], ssh_keys: keys, user: "dev" });
    const got = await composed<{ root: string[]; dev: string[]; name: string }>(
      rendered.config_dir,
      "vm: { root = vm.config.users.users.root.openssh.authorizedKeys.keys; dev = vm.config.users.users.dev.openssh.authorizedKeys.keys; name = vm.config.nixos-flake.user.name; }",
    );
    const managed = readFileSync(`${rendered.ssh_key}.pub`, "utf8").trim();
    expect(got).toEqual({ root: [managed, ...keys], dev: [managed, ...keys], name: "dev" });
    for (const who of ["root", "dev"]) expect(readFileSync(join(built.toplevel, `etc/ssh/authorized_keys.d/${who}`), "utf8")).toBe(`${[managed, ...keys].join("\n")}\n`);
    // The library's imageless backend: key-only SSH, root may log in.
    expect(readFileSync(join(built.toplevel, "etc/ssh/sshd_config"), "utf8")).toMatch(/^PasswordAuthentication no\nPermitRootLogin yes\n/m);
  });

  it("a source override by path and one by git URL: flake inputs, an overlay over the library's own, the sources built in", async () => {
    await ready();
    const fio = join(root, "fio");
    mkdirSync(fio);
    writeFileSync(join(fio, "MARKER"), "fio by path\n");
    const repo = await gitSource(join(root, "xfsprogs.git"), "for-next", { MARKER: "xfsprogs by git\n" });
    const { rendered } = await build({
      vm: "overrides",
      profiles: [],
      test_suites: [],
      source_overrides: [{ package: "fio", url: fio }, { package: "xfsprogs", url: `git+file://${repo}?ref=for-next` }],
    });
    const lock = JSON.parse(readFileSync(join(rendered.config_dir, "flake.lock"), "utf8"));
    expect(lock.nodes["fio-src"]).toMatchObject({ flake: false, original: { type: "path", path: fio } });
    expect(lock.nodes["xfsprogs-src"]).toMatchObject({ flake: false, original: { type: "git", url: `file://${repo}`, ref: "for-next" } });
    const got = await composed<{ fio: string; xfsprogs: string; fioPostInstall: boolean; overlays: number }>(
      rendered.config_dir,
      'vm: { fio = "${vm.pkgs.fio.src}"; xfsprogs = "${vm.pkgs.xfsprogs.src}"; fioPostInstall = vm.pkgs.fio ? postInstall; overlays = builtins.length vm.config.nixpkgs.overlays; }',
    );
    expect(readFileSync(join(got.fio, "MARKER"), "utf8")).toBe("fio by path\n");
    expect(readFileSync(join(got.xfsprogs, "MARKER"), "utf8")).toBe("xfsprogs by git\n");
    // The library's overlay (fio's postInstall) still applies under ours: both are there.
    expect(got).toMatchObject({ fioPostInstall: true, overlays: 2 });
  });

  it("bad input the library decides: a test suite a copy of it lacks is refused in one sentence, nothing written", async () => {
    await ready();
    const fork = join(root, "fork");
    await run(["cp", "-r", real.dir, fork], { quiet: true });
    const flake = join(fork, "flake.nix");
    writeFileSync(flake, readFileSync(flake, "utf8").replace(/^ *gitr = \.\/modules\/testSuites\/gitr\.nix;\n/m, ""));
    await expect(renderConfig({ vm: "fork", nixos_flake: `path:${fork}`, profiles: [], test_suites: ["gitr"] })).rejects.toThrow(
      /^test_suites: expected each entry to be one of the test suites path:\S+ has \(blktests, fstests, ltp, mmtests, pynfs, selftests, sysbench\), got "gitr"\.$/,
    );
  });
});

describe("the test library has the real one's interface", () => {
  const names = async (ref: string) =>
    JSON.parse(
      await capture(
        nixArgv([
          "eval",
          "--json",
          `${ref}#nixosModules`,
          "--apply",
          "m: { modules = builtins.attrNames m; backends = builtins.attrNames m.backends; profiles = builtins.attrNames m.profiles; testSuites = builtins.attrNames m.testSuites; mounts = builtins.attrNames m.mounts; }",
        ]),
      ),
    ) as Record<string, string[]>;

  it("the same module attribute paths (the test library has the imageless backend and the shares mount only)", async () => {
    await ready();
    const ours = await names((await testFlakes()).library);
    const theirs = await names(real.ref);
    expect(ours.profiles).toEqual(theirs.profiles);
    expect(ours.testSuites).toEqual(theirs.testSuites);
    expect(ours.modules).toEqual(theirs.modules);
    expect(theirs.backends).toEqual(expect.arrayContaining(ours.backends!));
    expect(theirs.mounts).toEqual(expect.arrayContaining(ours.mounts!));
    const shells = async (ref: string) => JSON.parse(await capture(nixArgv(["eval", "--json", `${ref}#devShells`, "--apply", 's: builtins.attrNames s."x86_64-linux"']))) as string[];
    // Names only: the real shells need nixpkgs' toolchain to be built.
    expect(await shells(real.ref)).toEqual(expect.arrayContaining(["build-kernel", "build-qemu"]));
    expect(await shells((await testFlakes()).library)).toEqual(expect.arrayContaining(["build-kernel", "build-qemu"]));
  });

  it("the same option names and types for what kdevflow sets", async () => {
    await ready();
    const apply =
      "vm: let o = vm.options.nixos-flake; s = o.shares.type.nestedTypes.elemType.getSubOptions [ ]; in { user = o.user.name.type.name; userDefault = o.user.name.default; shares = o.shares.type.name; tag = s.tag.type.name; options = s.options.type.name; monitoring = o.monitoring.enable.type.name; controller = o.controller.enable.type.name; }";
    const inputs = { profiles: ["monitoring", "controller"], test_suites: [], shares: [{ source: "/srv" }] };
    const theirs = await build({ vm: "iface-real", ...inputs });
    const ours = await renderConfig({ vm: "iface-test", nixos_flake: (await testFlakes()).library, ...inputs });
    await lockConfig(ours.config_dir, ours.nixos_flake, false);
    const want = { user: "str", userDefault: "user", shares: "attrsOf", tag: "str", options: "listOf", monitoring: "bool", controller: "bool" };
    expect(await composed(theirs.rendered.config_dir, apply)).toEqual(want);
    expect(await composed(ours.config_dir, apply)).toEqual(want);
  });

  it("the same template shape: render rewrites one url line and adds inputs after nixpkgs.follows in both", async () => {
    await ready();
    const plan = planFrom({ source_overrides: [{ package: "fio", url: "/srv/fio" }] });
    for (const dir of [real.dir, (await testFlakes()).libraryDir]) {
      const out = renderFlakeNix(readFileSync(join(dir, TEMPLATE_PATH), "utf8"), plan);
      expect(out, dir).toContain('    nixos-flake.url = "github:linux-kdevops/nixos-flake";\n    nixpkgs.follows = "nixos-flake/nixpkgs";\n    fio-src = {\n');
      expect(out, dir).toContain("nixosConfigurations.vm = nixpkgs.lib.nixosSystem {");
      expect(out, dir).toContain("packages.${system}.toplevel = self.nixosConfigurations.vm.config.system.build.toplevel;");
    }
  });
});
