import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { updateInputArgs } from "../../f/common/nix.ts";
import { BootspecError, parseBootspec } from "../../f/nix/build/bootspec.ts";
import { buildArgv, toplevelFromBuildJson } from "../../f/nix/build/build_closure.ts";
import { libraryDir } from "../../f/nix/build/library.ts";
import { decideLock, libraryPin } from "../../f/nix/build/lockfile.ts";

const T = "/nix/store/22x4a0m2lsph89xrh2kc4jjvlpnahxxq-nixos-system-imageless";
const I = "/nix/store/bpp8gy4wkjaxw222mwkn0kbnpqkxvzvy-kdevflow-initrd/initrd";

function lockWith(locked: Record<string, unknown>): string {
  return JSON.stringify({
    nodes: {
      lib: { inputs: { nixpkgs: "nixpkgs" }, locked, original: { type: "path", path: "/lib" } },
      nixpkgs: { locked: { type: "path", path: "/nixpkgs", narHash: "sha256-stub" } },
      root: { inputs: { "nixos-flake": "lib", nixpkgs: ["nixos-flake", "nixpkgs"] } },
    },
    root: "root",
    version: 7,
  });
}

describe("libraryPin: the library's pin in flake.lock", () => {
  it("follows the root's nixos-flake input to its node", () => {
    expect(libraryPin(lockWith({ type: "path", path: "/lib", narHash: "sha256-A", lastModified: 5 }))).toEqual({ narHash: "sha256-A", path: "/lib", lastModified: 5 });
  });
  it("gives no path for a non-path input and null for no pin or no JSON", () => {
    expect(libraryPin(lockWith({ type: "github", owner: "x", repo: "y", narHash: "sha256-B" }))).toEqual({ narHash: "sha256-B", path: null, lastModified: null });
    expect(libraryPin(JSON.stringify({ nodes: { root: { inputs: {} } }, root: "root", version: 7 }))).toBeNull();
    expect(libraryPin("{not json")).toBeNull();
  });
});

describe("decideLock: the stale-lock footgun of path: inputs", () => {
  const pin = { narHash: "sha256-OLD", path: "/lib", lastModified: 1 };
  it.each([
    ["no lock yet", null, "sha256-NEW", false, "lock", false],
    ["no lock yet, update_lock", null, "sha256-NEW", true, "update", false],
    ["pin current", pin, "sha256-OLD", false, "lock", false],
    ["pin current, update_lock", pin, "sha256-OLD", true, "update", false],
    ["library changed: keep the pin, say it is stale", pin, "sha256-NEW", false, "lock", true],
    ["library changed, update_lock: re-pin", pin, "sha256-NEW", true, "update", false],
    ["current hash unknown", pin, null, false, "lock", false],
  ] as const)("%s", (_n, p, current, update, action, stale) => {
    const d = decideLock(p, current, "/lib", update);
    expect(d.action).toBe(action);
    expect(d.stale).toBe(stale);
  });

  it("warns in words that say what is built and how to change it", () => {
    const d = decideLock(pin, "sha256-NEW", "/lib", false);
    expect(d.note).toMatch(/^WARNING: the library changed since flake.lock pinned it .*PINNED library.*update_lock: true/);
  });

  it("does not call a moved library stale: nix flake lock re-pins a changed url by itself", () => {
    const d = decideLock(pin, "sha256-NEW", "/elsewhere", false);
    expect(d).toMatchObject({ action: "lock", stale: false });
    expect(d.note).toContain("moved from /lib to /elsewhere");
  });
});

describe("updateInputArgs: re-pinning one input on Nix 2.8 and on current Nix", () => {
  it.each([
    [{ major: 2, minor: 8, text: "2.8" }, ["flake", "lock", "path:/c", "--update-input", "nixos-flake"]],
    [{ major: 2, minor: 18, text: "2.18" }, ["flake", "lock", "path:/c", "--update-input", "nixos-flake"]],
    [{ major: 2, minor: 19, text: "2.19" }, ["flake", "update", "--flake", "path:/c", "nixos-flake"]],
    [{ major: 2, minor: 28, text: "2.28" }, ["flake", "update", "--flake", "path:/c", "nixos-flake"]],
    [{ major: 3, minor: 0, text: "3.0" }, ["flake", "update", "--flake", "path:/c", "nixos-flake"]],
  ])("%j", (version, want) => {
    expect(updateInputArgs(version, "path:/c", "nixos-flake")).toEqual(want);
  });
});

describe("parseBootspec: init and initrd from org.nixos.bootspec.v1", () => {
  const good = { "org.nixos.bootspec.v1": { init: `${T}/init`, initrd: I, toplevel: T, kernelParams: ["console=ttyS0"], label: "x", system: "x86_64-linux" } };

  it("reads a valid bootspec", () => {
    expect(parseBootspec(JSON.stringify(good), "boot.json")).toEqual({ init: `${T}/init`, initrd: I, toplevel: T, kernelParams: ["console=ttyS0"], label: "x" });
  });

  it("defaults kernelParams to none and ignores extensions", () => {
    const spec = { "org.nixos.bootspec.v1": { init: `${T}/init`, initrd: I }, "org.nixos.specialisation.v1": {} };
    expect(parseBootspec(JSON.stringify(spec), "b").kernelParams).toEqual([]);
  });

  it.each([
    ["not JSON", "{", /^\/t\/boot.json is not valid JSON .*bootspec is malformed$/],
    ["an array", "[]", /has no "org.nixos.bootspec.v1" object/],
    ["no v1 key", JSON.stringify({ "org.nixos.bootspec.v2": {} }), /has no "org.nixos.bootspec.v1" object/],
    ["no init", JSON.stringify({ "org.nixos.bootspec.v1": { initrd: I } }), /org.nixos.bootspec.v1.init is missing$/],
    ["no initrd", JSON.stringify({ "org.nixos.bootspec.v1": { init: `${T}/init` } }), /org.nixos.bootspec.v1.initrd is missing$/],
    ["init outside the store", JSON.stringify({ "org.nixos.bootspec.v1": { init: "/sbin/init", initrd: I } }), /org.nixos.bootspec.v1.init is invalid \(a \/nix\/store path\)$/],
    ["kernelParams not strings", JSON.stringify({ "org.nixos.bootspec.v1": { init: `${T}/init`, initrd: I, kernelParams: [1] } }), /kernelParams.0 is invalid/],
  ])("refuses %s with a clear error", (_n, text, message) => {
    expect(() => parseBootspec(text, "/t/boot.json")).toThrow(BootspecError);
    expect(() => parseBootspec(text, "/t/boot.json")).toThrow(message);
  });
});

describe("build_closure's command and output", () => {
  it("builds path:<dir>#toplevel with --json and a result link (Nix 2.8 has no --print-out-paths)", () => {
    const argv = buildArgv("/wb/workers/0/nix/vm1");
    expect(argv.slice(-5)).toEqual(["build", "path:/wb/workers/0/nix/vm1#toplevel", "--json", "--out-link", "/wb/workers/0/nix/vm1/result"]);
    expect(argv).not.toContain("--print-out-paths");
  });

  it("reads the out path from nix build --json", () => {
    expect(toplevelFromBuildJson(`[{"drvPath":"/nix/store/x.drv","outputs":{"out":"${T}"}}]\n`)).toBe(T);
    expect(() => toplevelFromBuildJson("[]")).toThrow(/did not name/);
  });

  it("knows a path: library's directory", () => {
    expect(libraryDir("path:/vendor/nixos-flake")).toBe("/vendor/nixos-flake");
    expect(libraryDir("path:/vendor/nixos-flake/?narHash=x")).toBe("/vendor/nixos-flake");
    expect(libraryDir("github:o/r")).toBeNull();
  });
});

describe("the flow file", () => {
  const flow = YAML.parse(readFileSync(join(import.meta.dirname, "../../f/nix/build__flow/flow.yaml"), "utf8"));
  it("chains render_config, lock_config and build_closure on one worker", () => {
    expect(flow.value.same_worker).toBe(true);
    expect(flow.value.modules.map((m: { id: string; value: { path: string } }) => [m.id, m.value.path])).toEqual([
      ["render_config", "f/nix/build/render_config"],
      ["lock_config", "f/nix/build/lock_config"],
      ["build_closure", "f/nix/build/build_closure"],
    ]);
    const [render, lock, build] = flow.value.modules;
    // render_config parses flow_input once; the later steps read what it returns.
    expect(render.value.input_transforms).toEqual({ flow_input: { type: "javascript", expr: "flow_input" } });
    expect(lock.value.input_transforms.config_dir.expr).toBe("results.render_config.config_dir");
    expect(lock.value.input_transforms.nixos_flake.expr).toBe("results.render_config.nixos_flake");
    expect(lock.value.input_transforms.update_lock.expr).toBe("results.render_config.update_lock");
    expect(build.value.input_transforms.config_dir.expr).toBe("results.lock_config.config_dir");
  });

  it("asks in its form for every input of the issue", () => {
    expect(Object.keys(flow.schema.properties).sort()).toEqual(
      ["hostname", "nixos_flake", "profiles", "shares", "source_overrides", "ssh_keys", "test_suites", "update_lock", "user", "vm"].sort(),
    );
    expect(flow.schema.required).toEqual(["vm"]);
  });
});
