// The nix command line: extra options from configuration, flake resolution, the
// platform name, and the Nix 2.8 vs current difference in updating one input.

import { describe, expect, it } from "vitest";
import { DEFAULT_FLAKE, nixArgv, nixOptionsFromEnv, nixSystem, parseNixOptions, parseNixVersion, resolveFlake, updateInputArgs } from "../../f/common/nix.ts";

describe("parseNixOptions (KDEVFLOW_NIX_OPTIONS)", () => {
  it.each<[string | undefined, Record<string, string>]>([
    [undefined, {}],
    ["", {}],
    ["   \n ", {}],
    ['{"sandbox": "false", "cores": 2, "keep-going": true}', { sandbox: "false", cores: "2", "keep-going": "true" }],
    ["sandbox = false\nsubstituters =\n# a comment\n\n  max-jobs = 2  ", { sandbox: "false", substituters: "", "max-jobs": "2" }],
    ["flake-registry = /etc/nix/registry.json", { "flake-registry": "/etc/nix/registry.json" }],
    ["extra-experimental-features = nix-command flakes", { "extra-experimental-features": "nix-command flakes" }],
    ["a = b = c", { a: "b = c" }],
  ])("%j", (text, want) => {
    expect(parseNixOptions(text)).toEqual(want);
  });

  it.each([
    ["{not json", /^KDEVFLOW_NIX_OPTIONS: expected a JSON object of option names to values or lines/],
    ['["sandbox", "false"]', /^KDEVFLOW_NIX_OPTIONS: expected lines of 'name = value'/],
    ["sandbox false", /^KDEVFLOW_NIX_OPTIONS: expected lines of 'name = value', got "sandbox false"/],
    ["= value", /^KDEVFLOW_NIX_OPTIONS: expected lines of 'name = value'/],
  ])("refuses %j", (text, re) => {
    expect(() => parseNixOptions(text)).toThrow(re);
  });

  it("reads the environment", () => {
    expect(nixOptionsFromEnv({ KDEVFLOW_NIX_OPTIONS: "sandbox = false" })).toEqual({ sandbox: "false" });
    expect(nixOptionsFromEnv({})).toEqual({});
  });
});

describe("nixArgv", () => {
  it("always enables flakes and passes each option as --option NAME VALUE, before the command", () => {
    expect(nixArgv(["develop", "path:/f#build", "--command", "make"], { sandbox: "false", substituters: "" })).toEqual([
      "nix",
      "--extra-experimental-features",
      "nix-command flakes",
      "--option",
      "sandbox",
      "false",
      "--option",
      "substituters",
      "",
      "develop",
      "path:/f#build",
      "--command",
      "make",
    ]);
  });
  it("without options", () => {
    expect(nixArgv(["--version"], {})).toEqual(["nix", "--extra-experimental-features", "nix-command flakes", "--version"]);
  });
});

describe("resolveFlake", () => {
  it.each<[string | null | undefined, Record<string, string>, string]>([
    [undefined, {}, DEFAULT_FLAKE],
    [null, {}, "github:linux-kdevops/nixos-flake"],
    ["", { KDEVFLOW_NIXOS_FLAKE: "path:/srv/flake" }, "path:/srv/flake"],
    ["  ", { KDEVFLOW_NIXOS_FLAKE: "github:me/flake" }, "github:me/flake"],
    ["/home/me/nixos-flake", {}, "path:/home/me/nixos-flake"],
    [undefined, { KDEVFLOW_NIXOS_FLAKE: "/opt/flake" }, "path:/opt/flake"],
    ["git+file:///srv/flake?ref=main", { KDEVFLOW_NIXOS_FLAKE: "path:/ignored" }, "git+file:///srv/flake?ref=main"],
    [" path:/x ", {}, "path:/x"],
  ])("input %j, env %j -> %s", (input, env, want) => {
    expect(resolveFlake(input, env)).toBe(want);
  });

  it.each(["path:relative/flake", "path:./flake", "path:~/flake"])("refuses the relative %j (naming nixos_flake)", (ref) => {
    expect(() => resolveFlake(ref, {})).toThrow(/^nixos_flake: expected an absolute path: flake reference/);
  });
});

describe("nixSystem", () => {
  it.each([
    ["x64", "linux", "x86_64-linux"],
    ["arm64", "linux", "aarch64-linux"],
    ["arm64", "darwin", "aarch64-darwin"],
    ["riscv64", "linux", "riscv64-linux"],
  ])("%s/%s -> %s", (arch, platform, want) => {
    expect(nixSystem(arch, platform)).toBe(want);
  });
});

describe("Nix 2.8 and current Nix update one input differently", () => {
  it.each([
    ["nix (Nix) 2.8.0", 2, 8],
    ["nix (Nix) 2.24.10", 2, 24],
    ["nix (Nix) 2.19", 2, 19],
    ["nix (Determinate Nix 3.6.2) 2.29.0", 3, 6],
  ])("parseNixVersion(%j)", (out, major, minor) => {
    expect(parseNixVersion(out)).toMatchObject({ major, minor });
  });

  it("refuses output without a version", () => {
    expect(() => parseNixVersion("command not found")).toThrow(/cannot read the Nix version/);
  });

  it.each([
    ["2.8.0", ["flake", "lock", "path:/c", "--update-input", "nixos-flake"]],
    ["2.18.1", ["flake", "lock", "path:/c", "--update-input", "nixos-flake"]],
    ["2.19.0", ["flake", "update", "--flake", "path:/c", "nixos-flake"]],
    ["2.24.10", ["flake", "update", "--flake", "path:/c", "nixos-flake"]],
    ["3.0.0", ["flake", "update", "--flake", "path:/c", "nixos-flake"]],
  ])("Nix %s", (version, want) => {
    expect(updateInputArgs(parseNixVersion(version), "path:/c", "nixos-flake")).toEqual(want);
  });
});
