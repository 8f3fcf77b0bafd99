import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../f/common/errors.ts";
import { workbenchLayout } from "../../f/common/layout.ts";
import { DEFAULT_PROFILES, TEST_SUITES } from "../../f/nix/build/catalog.ts";
import { tagFromTarget } from "../../f/common/shares.ts";
import { checkSshKey, configDirFor, configLockPath, hostnameFromVm, planClosure, type ClosureInputs } from "../../f/nix/build/plan.ts";

const KEYS = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/golden/nix/ssh-keys.json"), "utf8")) as Record<string, string>;
const NO_ENV = {};

function plan(extra: Partial<ClosureInputs> = {}) {
  return planClosure({ vm: "vm1", ...extra }, NO_ENV);
}

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error("expected an InputError");
}

describe("planClosure: defaults make a fully featured guest", () => {
  it("selects every guest profile and all eight test suites when none are given", () => {
    const p = plan();
    expect(p.profiles).toEqual([...DEFAULT_PROFILES]);
    expect(p.profiles).not.toContain("controller");
    expect(p.testSuites).toEqual([...TEST_SUITES]);
    expect(p.testSuites).toHaveLength(8);
    expect(p.gateOn).toBe(true);
    expect(p.hostname).toBe("vm1");
    expect(p.user).toBe("kdevops");
    expect(p.library).toBe("path:/vendor/nixos-flake");
  });

  it("treats null like not given, and an empty list as none", () => {
    expect(plan({ profiles: null, test_suites: null }).testSuites).toHaveLength(8);
    const none = plan({ profiles: [], test_suites: [] });
    expect(none.profiles).toEqual([]);
    expect(none.testSuites).toEqual([]);
    expect(none.gateOn).toBe(false);
  });

  it("keeps the catalog's order and drops duplicates, so equal choices render equally", () => {
    const p = plan({ profiles: ["monitoring", "devel", "devel"], test_suites: ["gitr", "fstests", "gitr"] });
    expect(p.profiles).toEqual(["devel", "monitoring"]);
    expect(p.testSuites).toEqual(["fstests", "gitr"]);
  });

  it("turns the gate on only when a gated profile is chosen", () => {
    expect(plan({ profiles: ["devel", "build-tools"] }).gateOn).toBe(false);
    expect(plan({ profiles: ["monitoring"] }).gateOn).toBe(true);
    expect(plan({ profiles: ["controller"] }).gateOn).toBe(false);
  });

  it("takes the library from the input, else KDEVFLOW_NIXOS_FLAKE, else the vendored copy", () => {
    expect(planClosure({ vm: "a", nixos_flake: "/srv/lib" }, NO_ENV).library).toBe("path:/srv/lib");
    expect(planClosure({ vm: "a" }, { KDEVFLOW_NIXOS_FLAKE: "path:/opt/lib" }).library).toBe("path:/opt/lib");
    expect(planClosure({ vm: "a", nixos_flake: "" }, { KDEVFLOW_NIXOS_FLAKE: "path:/opt/lib" }).library).toBe("path:/opt/lib");
  });

  it("derives the host name from the VM name", () => {
    expect(hostnameFromVm("vm1")).toBe("vm1");
    expect(hostnameFromVm("my_vm.test")).toBe("my-vm-test");
    expect(hostnameFromVm("_x_")).toBe("x");
    expect(hostnameFromVm("a".repeat(70))).toHaveLength(63);
    expect(plan({ vm: "dev_box.2" } as ClosureInputs).hostname).toBe("dev-box-2");
  });
});

describe("planClosure: bad input is one sentence naming the field", () => {
  it.each<[string, Partial<ClosureInputs>, string, RegExp]>([
    ["unknown profile", { profiles: ["devel", "gaming"] }, "profiles", /^profiles: expected each entry to be one of devel, build-tools, monitoring, controller, got "gaming"\.$/],
    ["unknown test suite", { test_suites: ["fstests", "xfstests"] }, "test_suites", /^test_suites: expected each entry to be one of fstests, .*gitr, got "xfstests"\.$/],
    ["profiles not a list", { profiles: "devel" as unknown as string[] }, "profiles", /^profiles: expected a list/],
    ["share with a relative path", { shares: [{ source: "src/linux" }] }, "shares[0].source", /^shares\[0\]\.source: expected an absolute path for the host directory to share, got "src\/linux"\.$/],
    ["share target relative", { shares: [{ source: "/srv", target: "srv" }] }, "shares[0].target", /absolute path for the guest mount point/],
    ["share over /nix/store", { shares: [{ source: "/srv", target: "/nix/store" }] }, "shares[0].target", /outside \//],
    ["share on /", { shares: [{ source: "/" }] }, "shares[0].target", /outside \//],
    ["share with the reserved tag store", { shares: [{ source: "/srv", tag: "store" }] }, "shares[0].tag", /other than store and modules/],
    ["share tag with a space", { shares: [{ source: "/srv", tag: "a b" }] }, "shares[0].tag", /a share tag of 1 to 36/],
    ["two shares on one mount point", { shares: [{ source: "/a", target: "/x" }, { source: "/b", target: "/x", tag: "other" }] }, "shares[1]", /no other share uses/],
    ["a private key", { ssh_keys: [KEYS.private_ed25519_first_line!] }, "ssh_keys[0]", /^ssh_keys\[0\]: expected an OpenSSH public key line .*, not a private key\.$/],
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
    ["source override with a relative path", { source_overrides: [{ package: "ltp", url: "path:ltp" }] }, "source_overrides[0].url", /^source_overrides\[0\]\.url: expected a flake reference/],
    ["source override url with a newline", { source_overrides: [{ package: "ltp", url: "git+https://x/y\n}" }] }, "source_overrides[0].url", /flake reference/],
    ["source override with a bad package name", { source_overrides: [{ package: "Ltp!", url: "/srv/ltp" }] }, "source_overrides[0].package", /package name/],
    ["one package overridden twice", { source_overrides: [{ package: "ltp", url: "/a" }, { package: "ltp", url: "/b" }] }, "source_overrides[1].package", /once/],
    ["a relative library path", { nixos_flake: "path:vendor/nixos-flake" }, "nixos_flake", /^nixos_flake: expected an absolute path: flake reference/],
    ["a library path relative to the working directory", { nixos_flake: "./nixos-flake" }, "nixos_flake", /^nixos_flake: expected an absolute path or a flake reference with a scheme/],
    ["a library reference with a space", { nixos_flake: "path:/srv/my lib" }, "nixos_flake", /^nixos_flake: expected an absolute path or a flake reference with a scheme .*, without spaces/],
  ])("%s", (_name, extra, field, message) => {
    const err = inputError(() => plan(extra));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    expect(err.message.split(/\.\s/)).toHaveLength(1);
  });
});

describe("planClosure: valid shares, keys and overrides", () => {
  it("accepts real public keys of several types and keeps a comment holding quotes and ${", () => {
    const keys = [KEYS.ed25519!, KEYS.rsa!, KEYS.ecdsa_hostile_comment!];
    expect(plan({ ssh_keys: keys }).sshKeys).toEqual(keys);
    expect(checkSshKey(`  ${KEYS.ed25519}  `, 0)).toBe(KEYS.ed25519);
    expect(plan({ ssh_keys: [KEYS.ed25519!, KEYS.ed25519!] }).sshKeys).toHaveLength(1);
  });

  it("completes shares: target defaults to source, tag from target, read-only off", () => {
    expect(plan({ shares: [{ source: "/srv/src/" }, { source: "/home/dev/linux", target: "/linux", tag: "kernel", read_only: true }] }).shares).toEqual([
      { tag: "srv-src", source: "/srv/src", target: "/srv/src", readOnly: false },
      { tag: "kernel", source: "/home/dev/linux", target: "/linux", readOnly: true },
    ]);
    expect(tagFromTarget("/a/very/long/path/that/goes/on/and/on/and/on")).toHaveLength(36);
    expect(tagFromTarget("/...")).toBe("share");
  });

  it("names each override input <package>-src and turns a bare absolute path into path:", () => {
    expect(plan({ source_overrides: [{ package: "fstests", url: "git+https://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git?ref=for-next" }, { package: "ltp", url: "/srv/ltp" }] }).sourceOverrides).toEqual([
      { package: "fstests", input: "fstests-src", url: "git+https://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git?ref=for-next" },
      { package: "ltp", input: "ltp-src", url: "path:/srv/ltp" },
    ]);
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
