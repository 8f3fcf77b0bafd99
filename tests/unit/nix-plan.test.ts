// The closure planner (f/nix/build/plan.ts) with the inputs parsed as render_config
// parses them: defaults, what the library offers, the managed key, and one sentence
// naming the field for each kind of bad input.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inputErrorOf } from "../harness/errors.ts";
import { InputError } from "../../f/common/errors.ts";
import { workbenchLayout } from "../../f/common/layout.ts";
import { tagFromTarget } from "../../f/common/shares.ts";
import { DEFAULT_PROFILES, TEST_SUITES } from "../../f/nix/build/catalog.ts";
import { checkSshKey, configDirFor, configLockPath, hostnameFromVm, sourceInput } from "../../f/nix/build/plan.ts";
import { FACTS, FULL_OFFER, MANAGED_KEY, planFrom } from "./nix-fixtures.ts";

const KEYS = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/golden/nix/ssh-keys.json"), "utf8")) as Record<string, string>;


describe("planClosure: defaults make a fully featured guest of the public library", () => {
  it("selects every guest profile, all eight test suites, both gates off but monitoring's, the library's own user", () => {
    const p = planFrom({});
    expect(p.profiles).toEqual([...DEFAULT_PROFILES]);
    expect(p.profiles).not.toContain("controller");
    expect(p.testSuites).toEqual([...TEST_SUITES]);
    expect(p.gates).toEqual([["nixos-flake", "monitoring", "enable"]]);
    expect(p.hostname).toBe("vm1");
    expect(p.user).toBeNull();
    expect(p.library).toBe("github:linux-kdevops/nixos-flake");
    expect(p.sshKeys).toEqual([MANAGED_KEY]);
  });

  it("treats null like not given, and an empty list as none", () => {
    expect(planFrom({ profiles: null, test_suites: null }).testSuites).toHaveLength(8);
    const none = planFrom({ profiles: [], test_suites: [] });
    expect(none.profiles).toEqual([]);
    expect(none.testSuites).toEqual([]);
    expect(none.gates).toEqual([]);
  });

  it("keeps the catalog's order and drops duplicates, so equal choices render equally", () => {
    const p = planFrom({ profiles: ["monitoring", "devel", "devel"], test_suites: ["gitr", "fstests", "gitr"] });
    expect(p.profiles).toEqual(["devel", "monitoring"]);
    expect(p.testSuites).toEqual(["fstests", "gitr"]);
  });

  it("sets the gate of each gated profile chosen: monitoring and controller", () => {
    expect(planFrom({ profiles: ["devel", "build-tools"] }).gates).toEqual([]);
    expect(planFrom({ profiles: ["controller"] }).gates).toEqual([["nixos-flake", "controller", "enable"]]);
    expect(planFrom({ profiles: ["monitoring", "controller"] }).gates).toEqual([
      ["nixos-flake", "monitoring", "enable"],
      ["nixos-flake", "controller", "enable"],
    ]);
  });

  it("takes the library from the input, else KDEVFLOW_NIXOS_FLAKE, else github:linux-kdevops/nixos-flake", () => {
    expect(planFrom({ nixos_flake: "/srv/lib" }).library).toBe("path:/srv/lib");
    expect(planFrom({}, FACTS, { KDEVFLOW_NIXOS_FLAKE: "path:/opt/lib" }).library).toBe("path:/opt/lib");
    expect(planFrom({ nixos_flake: "" }, FACTS, { KDEVFLOW_NIXOS_FLAKE: "github:me/fork" }).library).toBe("github:me/fork");
  });

  it("derives the host name from the VM name", () => {
    expect(hostnameFromVm("vm1")).toBe("vm1");
    expect(hostnameFromVm("my_vm.test")).toBe("my-vm-test");
    expect(hostnameFromVm("_x_")).toBe("x");
    expect(hostnameFromVm("a".repeat(70))).toHaveLength(63);
    expect(planFrom({ vm: "dev_box.2" }).hostname).toBe("dev-box-2");
  });

  it("names the library's user only when one is given", () => {
    expect(planFrom({ user: "alice" }).user).toBe("alice");
    expect(planFrom({ user: "" }).user).toBeNull();
  });
});

describe("planClosure: what the library lacks is bad input too", () => {
  const fork = { offer: { profiles: ["build-tools", "devel"], testSuites: ["fstests", "ltp"], mounts: [] }, managedKey: null };
  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ["a profile it lacks", { profiles: ["devel", "monitoring"], test_suites: [] }, "profiles", /^profiles: expected each entry to be one of the profiles path:\/fork has \(build-tools, devel\), got "monitoring"\.$/],
    ["a test suite it lacks", { profiles: [], test_suites: ["ltp", "gitr"] }, "test_suites", /^test_suites: expected each entry to be one of the test suites path:\/fork has \(fstests, ltp\), got "gitr"\.$/],
    ["shares without its mounts.shares", { profiles: [], test_suites: [], shares: [{ source: "/srv" }] }, "shares", /^shares: expected none: path:\/fork has no nixosModules\.mounts\.shares/],
  ])("%s", (_name, raw, field, message) => {
    const err = inputErrorOf(() => planFrom({ nixos_flake: "/fork", ...raw }, fork));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it("authorises no managed key when there is none, and the given keys after it when there is one", () => {
    expect(planFrom({ profiles: [], test_suites: [], ssh_keys: [KEYS.ed25519!] }, fork).sshKeys).toEqual([KEYS.ed25519]);
    expect(planFrom({ ssh_keys: [KEYS.ed25519!, MANAGED_KEY] }).sshKeys).toEqual([MANAGED_KEY, KEYS.ed25519]);
    expect(FULL_OFFER.mounts).toContain("shares");
  });
});

describe("planClosure: bad input is one sentence naming the field", () => {
  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ["unknown profile", { profiles: ["devel", "gaming"] }, "profiles[1]", /^profiles\[1\]: expected one of "devel", "build-tools", "monitoring" or "controller", got "gaming"\.$/],
    ["unknown test suite", { test_suites: ["fstests", "xfstests"] }, "test_suites[1]", /^test_suites\[1\]: expected one of "fstests", .*"gitr", got "xfstests"\.$/],
    ["profiles not a list", { profiles: "devel" }, "profiles", /^profiles: expected a list/],
    ["share with a relative path", { shares: [{ source: "src/linux" }] }, "shares[0].source", /^shares\[0\]\.source: expected an absolute path for the host directory to share, got "src\/linux"\.$/],
    ["share target relative", { shares: [{ source: "/srv", target: "srv" }] }, "shares[0].target", /absolute path for the guest mount point/],
    ["share over /nix/store", { shares: [{ source: "/srv", target: "/nix/store" }] }, "shares[0].target", /outside \//],
    ["share on /", { shares: [{ source: "/" }] }, "shares[0].target", /outside \//],
    ["share with the reserved tag store", { shares: [{ source: "/srv", tag: "store" }] }, "shares[0].tag", /other than store and modules/],
    ["share tag with a space", { shares: [{ source: "/srv", tag: "a b" }] }, "shares[0].tag", /a share tag of 1 to 36 letters, digits or '_'/],
    ["share tag with a '-' (the boot flow's unit names split at it)", { shares: [{ source: "/srv", tag: "host-data" }] }, "shares[0].tag", /a share tag of 1 to 36 letters, digits or '_'/],
    ["share tag over 36 bytes", { shares: [{ source: "/srv", tag: "x".repeat(37) }] }, "shares[0].tag", /1 to 36/],
    ["two shares on one mount point", { shares: [{ source: "/a", target: "/x" }, { source: "/b", target: "/x", tag: "other" }] }, "shares[1]", /no other share uses/],
    ["a private key (never echoed)", { ssh_keys: [KEYS.private_ed25519_first_line!] }, "ssh_keys[0]", /^ssh_keys\[0\]: expected an OpenSSH public key line .*, not a private key\.$/],
    ["a key fingerprint", { ssh_keys: ["SHA256:2r8nYbXq0h7mq3uS3F0n5Jd5dS5Q6a2r4Nq7c0m3V8s"] }, "ssh_keys[0]", /^ssh_keys\[0\]: expected an OpenSSH public key line/],
    ["a key of an unknown type", { ssh_keys: ["ssh-foo AAAAB3NzaC1yc2E= x"] }, "ssh_keys[0]", /a key type among/],
    ["a key whose data names another type", { ssh_keys: [KEYS.rsa!.replace(/^ssh-rsa/, "ssh-ed25519")] }, "ssh_keys[0]", /does not hold a ssh-ed25519 key/],
    ["a truncated key", { ssh_keys: ["ssh-ed25519 AAAAC3Nz"] }, "ssh_keys[0]", /too short/],
    ["a key over two lines", { ssh_keys: [`${KEYS.ed25519}\n${KEYS.rsa}`] }, "ssh_keys[0]", /on one line/],
    ["a key with authorized_keys options", { ssh_keys: [`from="10.0.0.1" ${KEYS.ed25519}`] }, "ssh_keys[0]", /public key line/],
    ["the second key bad", { ssh_keys: [KEYS.ed25519!, "not a key"] }, "ssh_keys[1]", /^ssh_keys\[1\]:/],
    ["hostname with a dot", { hostname: "vm.example.org" }, "hostname", /^hostname: expected a host name of 1 to 63 letters/],
    ["hostname with a quote", { hostname: 'vm"; x = 1; "' }, "hostname", /^hostname:/],
    ["hostname with a newline", { hostname: "vm\nevil" }, "hostname", /^hostname:/],
    ["hostname too long", { hostname: "a".repeat(64) }, "hostname", /^hostname:/],
    ["hostname starting with -", { hostname: "-vm" }, "hostname", /^hostname:/],
    ["user root", { user: "root" }, "user", /^user: expected a login name .* other than root, got "root"\.$/],
    ["user with \\${", { user: "${x}" }, "user", /^user:/],
    ["user with uppercase", { user: "Alice" }, "user", /^user:/],
    ["VM name with /", { vm: "a/b" }, "vm", /^vm: expected a name of at most 64 letters.*got "a\/b"\.$/],
    ["VM name ..", { vm: ".." }, "vm", /^vm:/],
    ["VM name with ..", { vm: "a..b" }, "vm", /^vm:/],
    ["VM name empty", { vm: "" }, "vm", /^vm:/],
    ["source override with a relative path", { source_overrides: [{ package: "ltp", url: "path:ltp" }] }, "source_overrides[0].url", /^source_overrides\[0\]\.url: expected an absolute path \(or path:\/\.\.\.\), or a git URL/],
    ["source override that is a github: reference", { source_overrides: [{ package: "ltp", url: "github:linux-test-project/ltp" }] }, "source_overrides[0].url", /or a git URL \(git\+https:\/\//],
    ["source override url with a newline", { source_overrides: [{ package: "ltp", url: "git+https://x/y\n}" }] }, "source_overrides[0].url", /git URL/],
    ["source override with a short rev", { source_overrides: [{ package: "ltp", url: "git+https://x/y?rev=abc" }] }, "source_overrides[0].url", /rev \(a full commit id\)/],
    ["source override with a bad package name", { source_overrides: [{ package: "Ltp!", url: "/srv/ltp" }] }, "source_overrides[0].package", /nixpkgs attribute name/],
    ["source override url that is not a URL", { source_overrides: [{ package: "ltp", url: "not-a-url" }] }, "source_overrides[0].url", /or a git URL/],
    ["source override url with a scheme and nothing after it", { source_overrides: [{ package: "ltp", url: "https:foo" }] }, "source_overrides[0].url", /or a git URL/],
    ["one package overridden twice", { source_overrides: [{ package: "ltp", url: "/a" }, { package: "ltp", url: "/b" }] }, "source_overrides[1].package", /once/],
    ["a relative library path", { nixos_flake: "path:vendor/nixos-flake" }, "nixos_flake", /^nixos_flake: expected a flake reference/],
    ["a library path relative to the working directory", { nixos_flake: "./nixos-flake" }, "nixos_flake", /^nixos_flake: expected a flake reference/],
  ])("%s", (_name, raw, field, message) => {
    const err = inputErrorOf(() => planFrom(raw));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    expect(err.message.split("\n")).toHaveLength(1);
  });
});

describe("planClosure: valid shares, keys and overrides", () => {
  it("accepts real public keys of several types and keeps a comment holding quotes and ${", () => {
    const keys = [KEYS.ed25519!, KEYS.rsa!, KEYS.ecdsa_hostile_comment!];
    expect(planFrom({ ssh_keys: keys }).sshKeys).toEqual([MANAGED_KEY, ...keys]);
    expect(checkSshKey(`  ${KEYS.ed25519}  `, 0)).toBe(KEYS.ed25519);
    expect(planFrom({ ssh_keys: [KEYS.ed25519!, KEYS.ed25519!] }).sshKeys).toHaveLength(2);
  });

  it("completes shares: target defaults to source, tag from target ('_' for what a tag cannot hold), read-only off", () => {
    expect(planFrom({ shares: [{ source: "/srv/src/" }, { source: "/home/dev/linux", target: "/linux", tag: "kernel", read_only: true }] }).shares).toEqual([
      { tag: "srv_src", source: "/srv/src", target: "/srv/src", readOnly: false },
      { tag: "kernel", source: "/home/dev/linux", target: "/linux", readOnly: true },
    ]);
    expect(tagFromTarget("/a/very/long/path/that/goes/on/and/on/and/on")).toHaveLength(36);
    expect(tagFromTarget("/...")).toBe("share");
    expect(tagFromTarget("/mnt/host data")).toBe("mnt_host_data");
    expect(tagFromTarget("/store")).toBe("store_share");
  });

  it("turns each override into the non-flake input <package>-src the template shows: a path, or git with ref and rev", () => {
    const rev = "0123456789abcdef0123456789abcdef01234567";
    expect(
      planFrom({
        source_overrides: [
          { package: "xfstests", url: `git+https://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git?ref=for-next&rev=${rev}` },
          { package: "ltp", url: "/srv/ltp/" },
          { package: "fio", url: "path:/srv/fio" },
          { package: "kmod", url: "git+file:///srv/kmod.git?submodules=1" },
        ],
      }).sourceOverrides,
    ).toEqual([
      { package: "xfstests", input: "xfstests-src", source: { type: "git", url: "https://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git", ref: "for-next", rev } },
      { package: "ltp", input: "ltp-src", source: { type: "path", path: "/srv/ltp" } },
      { package: "fio", input: "fio-src", source: { type: "path", path: "/srv/fio" } },
      { package: "kmod", input: "kmod-src", source: { type: "git", url: "file:///srv/kmod.git", submodules: true } },
    ]);
    expect(sourceInput("u", "git+ssh://git@host/repo.git")).toEqual({ type: "git", url: "ssh://git@host/repo.git" });
  });
});

describe("config directory", () => {
  it("is WORKERS_DIR/<WORKER_INDEX>/nix/<vm>, with a sibling lock file", () => {
    const layout = workbenchLayout({ WORKERS_DIR: "/wb/workers", WORKER_INDEX: "3", SYSTEM_DIR: "/wb/system" });
    expect(configDirFor(layout, "vm1")).toBe("/wb/workers/3/nix/vm1");
    expect(configLockPath("/wb/workers/3/nix/vm1/")).toBe("/wb/workers/3/nix/vm1.lock");
    expect(() => configDirFor(layout, "../x")).toThrow(InputError);
  });
});
