// Golden tests of the rendered per-VM config, in the nixos-flake library's own terms.
// The expected files live in tests/fixtures/golden/nix/<case>/; after a deliberate change
// of the renderer, rewrite them with `UPDATE_GOLDEN=1 npx vitest run
// tests/unit/nix-render.test.ts` and review the diff. The template is the test library's,
// which has the real one's shape (an `inputs = { ... }` block with nixos-flake.url and
// nixpkgs.follows); nix-real-library.test.ts renders against the real one.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderDefaultNix, renderFlakeNix, TemplateError, TEMPLATE_PATH } from "../../f/nix/build/render.ts";
import { FACTS, planFrom } from "./nix-fixtures.ts";

const HERE = import.meta.dirname;
const GOLDEN = join(HERE, "../fixtures/golden/nix");
const TEMPLATE = readFileSync(join(HERE, "../fixtures/nixos-flake", TEMPLATE_PATH), "utf8");
const KEYS = JSON.parse(readFileSync(join(GOLDEN, "ssh-keys.json"), "utf8")) as Record<string, string>;
const REV = "0123456789abcdef0123456789abcdef01234567";

const CASES: Record<string, Record<string, unknown>> = {
  defaults: {},
  pared: { profiles: ["devel"], test_suites: ["fstests", "ltp"] },
  monitoring: { profiles: ["monitoring"], test_suites: [] },
  controller: { profiles: ["devel", "controller"], test_suites: ["selftests"] },
  shares: {
    profiles: ["devel"],
    test_suites: [],
    shares: [{ source: "/srv/src" }, { source: "/home/dev/linux", target: "/linux", tag: "kernel", read_only: true }],
  },
  keys: {
    profiles: ["devel"],
    test_suites: [],
    hostname: "build-box",
    user: "alice",
    ssh_keys: [KEYS.ed25519!, KEYS.rsa!, KEYS.ecdsa_hostile_comment!],
  },
  "source-overrides": {
    profiles: ["devel"],
    test_suites: ["fstests", "ltp"],
    source_overrides: [
      { package: "xfstests", url: `git+https://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git?ref=for-next&rev=${REV}` },
      { package: "fio", url: "/home/dev/fio" },
    ],
  },
};

function golden(name: string, file: string, actual: string): void {
  const path = join(GOLDEN, name, file);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(join(GOLDEN, name), { recursive: true });
    writeFileSync(path, actual);
  }
  expect(existsSync(path), `${path} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("golden: rendered flake.nix and default.nix", () => {
  for (const [name, inputs] of Object.entries(CASES)) {
    it(name, () => {
      const plan = planFrom({ nixos_flake: "github:linux-kdevops/nixos-flake", ...inputs });
      golden(name, "flake.nix", renderFlakeNix(TEMPLATE, plan));
      golden(name, "default.nix", renderDefaultNix(plan));
    });
  }
});

describe("what the renderer decides", () => {
  const render = (inputs: Record<string, unknown>) => renderDefaultNix(planFrom(inputs));

  it("sets each gate of the gated profiles chosen, and no other", () => {
    const both = render({ profiles: ["monitoring", "controller"] });
    expect(both).toContain("  nixos-flake.monitoring.enable = true;\n  nixos-flake.controller.enable = true;\n");
    expect(render({ profiles: ["devel", "build-tools"] })).not.toMatch(/\.enable = true/);
  });

  it("imports profiles.<p>, testSuites.<t> and, with shares only, mounts.shares", () => {
    const text = render({ profiles: ["devel"], test_suites: ["fstests"] });
    expect(text).toContain("    nixos-flake.nixosModules.profiles.devel\n    nixos-flake.nixosModules.testSuites.fstests\n");
    expect(text).not.toContain("mounts.shares");
    expect(render({ shares: [{ source: "/srv" }] })).toContain("    nixos-flake.nixosModules.mounts.shares\n");
  });

  it("keys shares by mount point with the tag, and ro only for read-only shares", () => {
    const text = render({ shares: [{ source: "/a", target: "/mnt/a" }, { source: "/b", target: "/mnt/b", tag: "bee", read_only: true }] });
    expect(text).toContain('  nixos-flake.shares = {\n    "/mnt/a" = {\n      tag = "mnt_a";\n    };\n    "/mnt/b" = {\n      tag = "bee";\n      options = [ "ro" ];\n    };\n  };\n');
  });

  it("authorises the keys for root and for the account the library names, whatever its name", () => {
    const text = render({ ssh_keys: [KEYS.ed25519!] });
    expect(text).toContain("  users.users.root.openssh.authorizedKeys.keys = [\n");
    expect(text).toContain("  users.users.${config.nixos-flake.user.name}.openssh.authorizedKeys.keys = [\n");
    expect(text).not.toContain("nixos-flake.user.name =");
    expect(render({ user: "alice" })).toContain('  nixos-flake.user.name = "alice";\n');
    expect(renderDefaultNix(planFrom({}, { ...FACTS, managedKey: null }))).not.toContain("authorizedKeys");
  });

  it("overrides each package in an overlay from its <package>-src input", () => {
    expect(render({ source_overrides: [{ package: "fio", url: "/srv/fio" }] })).toContain(
      "  nixpkgs.overlays = [\n    (final: prev: {\n      fio = prev.fio.overrideAttrs (_: { src = inputs.fio-src; });\n    })\n  ];\n",
    );
  });

  it("is a module of the template's arguments, importing nothing for empty selections", () => {
    const text = render({ profiles: [], test_suites: [] });
    expect(text).toContain("{\n  config,\n  lib,\n  pkgs,\n  nixos-flake,\n  inputs,\n  ...\n}:\n{\n  imports = [ ];\n");
    expect(text).toContain('networking.hostName = "vm1";');
  });

  it("changes flake.nix only in the url line and adds the override inputs after nixpkgs.follows", () => {
    const plan = planFrom({ nixos_flake: "path:/srv/mylib?x", source_overrides: [{ package: "fio", url: "/srv/fio" }] });
    const out = renderFlakeNix(TEMPLATE, plan);
    const removed = TEMPLATE.split("\n").filter((l) => !out.split("\n").includes(l));
    expect(removed).toEqual(['    nixos-flake.url = "path:/path/to/nixos-flake";']);
    expect(out).toContain(
      '    nixos-flake.url = "path:/srv/mylib?x";\n    nixpkgs.follows = "nixos-flake/nixpkgs";\n    fio-src = {\n      type = "path";\n      path = "/srv/fio";\n      flake = false;\n    };\n',
    );
  });

  it("also rewrites a template that writes inputs.<name> at the top level", () => {
    const template = '{\n  inputs.nixos-flake.url = "github:example/nixos-flake";\n  inputs.nixpkgs.follows = "nixos-flake/nixpkgs";\n  outputs = _: { };\n}\n';
    const plan = planFrom({ nixos_flake: "github:linux-kdevops/nixos-flake", source_overrides: [{ package: "kmod", url: "git+https://example.org/kmod.git?ref=master" }] });
    expect(renderFlakeNix(template, plan)).toBe(
      '{\n  inputs.nixos-flake.url = "github:linux-kdevops/nixos-flake";\n  inputs.nixpkgs.follows = "nixos-flake/nixpkgs";\n  inputs.kmod-src = {\n    type = "git";\n    url = "https://example.org/kmod.git";\n    ref = "master";\n    flake = false;\n  };\n  outputs = _: { };\n}\n',
    );
  });

  it("refuses a template without exactly one nixos-flake.url line or one nixpkgs.follows line", () => {
    const plan = planFrom({});
    expect(() => renderFlakeNix(TEMPLATE.replace(/^ *nixos-flake\.url = .*\n/m, ""), plan)).toThrow(TemplateError);
    expect(() => renderFlakeNix(TEMPLATE.replace(/^( *nixos-flake\.url = .*\n)/m, "$1$1"), plan)).toThrow(/exactly one line .*found 2/);
    expect(() => renderFlakeNix(TEMPLATE.replace(/^ *nixpkgs\.follows = .*\n/m, ""), plan)).toThrow(/nixpkgs\.follows/);
  });

  it("is deterministic: equal selections in another order give the same bytes", () => {
    expect(render({ profiles: ["monitoring", "devel"], test_suites: ["ltp", "fstests"] })).toBe(render({ profiles: ["devel", "monitoring"], test_suites: ["fstests", "ltp"] }));
  });
});
