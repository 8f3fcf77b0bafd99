// Golden tests of the rendered per-VM config. The expected files live in
// tests/fixtures/golden/nix/<case>/; after a deliberate change of the renderer, rewrite
// them with `UPDATE_GOLDEN=1 npx vitest run tests/unit/nix-render.test.ts` and review
// the diff.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planClosure, type ClosureInputs } from "../../f/nix/build/plan.ts";
import { renderDefaultNix, renderFlakeNix, TemplateError, TEMPLATE_PATH } from "../../f/nix/build/render.ts";

const HERE = import.meta.dirname;
const GOLDEN = join(HERE, "../fixtures/golden/nix");
const TEMPLATE = readFileSync(join(HERE, "../fixtures/nixos-flake", TEMPLATE_PATH), "utf8");
const KEYS = JSON.parse(readFileSync(join(GOLDEN, "ssh-keys.json"), "utf8")) as Record<string, string>;

const CASES: Record<string, Omit<ClosureInputs, "vm"> & { vm?: string }> = {
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
      { package: "fstests", url: "git+https://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git?ref=for-next" },
      { package: "ltp", url: "/home/dev/ltp" },
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
      const plan = planClosure({ vm: "vm1", ...inputs }, {});
      golden(name, "flake.nix", renderFlakeNix(TEMPLATE, plan));
      golden(name, "default.nix", renderDefaultNix(plan));
    });
  }
});

describe("what the renderer decides", () => {
  const render = (inputs: Omit<ClosureInputs, "vm">) => renderDefaultNix(planClosure({ vm: "vm1", ...inputs }, {}));

  it("emits the gate for monitoring and only then", () => {
    expect(render({ profiles: ["monitoring"] })).toContain("nixos-flake.monitoring.enable = true;");
    expect(render({ profiles: ["devel", "build-tools", "controller"] })).not.toContain("monitoring.enable");
  });

  it("imports the shares module only with shares", () => {
    expect(render({})).not.toContain("nixosModules.shares");
    expect(render({ shares: [{ source: "/srv" }] })).toContain("nixos-flake.nixosModules.shares\n");
  });

  it("imports nothing for empty selections, yet stays a valid module", () => {
    const text = render({ profiles: [], test_suites: [] });
    expect(text).toContain("imports = [ ];");
    expect(text).toContain("boot.kernel.enable = false;");
  });

  it("changes flake.nix only in the url line and the override inputs", () => {
    const plan = planClosure({ vm: "vm1", nixos_flake: "path:/srv/mylib?x", source_overrides: [{ package: "ltp", url: "/srv/ltp" }] }, {});
    const out = renderFlakeNix(TEMPLATE, plan);
    const removed = TEMPLATE.split("\n").filter((l) => !out.split("\n").includes(l));
    expect(removed).toEqual(['    nixos-flake.url = "path:/vendor/nixos-flake";']);
    expect(out).toContain('    nixos-flake.url = "path:/srv/mylib?x";\n    ltp-src = { url = "path:/srv/ltp"; flake = false; };\n');
    expect(out).toContain('nixpkgs.follows = "nixos-flake/nixpkgs";');
  });

  it("also rewrites a template that writes inputs.nixos-flake.url at the top level", () => {
    const template = '{\n  inputs.nixos-flake.url = "github:example/nixos-flake";\n  inputs.nixpkgs.follows = "nixos-flake/nixpkgs";\n  outputs = _: { };\n}\n';
    const plan = planClosure({ vm: "vm1", source_overrides: [{ package: "ltp", url: "/srv/ltp" }] }, {});
    expect(renderFlakeNix(template, plan)).toBe(
      '{\n  inputs.nixos-flake.url = "path:/vendor/nixos-flake";\n  inputs.ltp-src = { url = "path:/srv/ltp"; flake = false; };\n  inputs.nixpkgs.follows = "nixos-flake/nixpkgs";\n  outputs = _: { };\n}\n',
    );
  });

  it("refuses a template without exactly one nixos-flake.url line", () => {
    const plan = planClosure({ vm: "vm1" }, {});
    expect(() => renderFlakeNix(TEMPLATE.replace(/^ *nixos-flake\.url = .*\n/m, ""), plan)).toThrow(TemplateError);
    expect(() => renderFlakeNix(TEMPLATE.replace(/^( *nixos-flake\.url = .*\n)/m, "$1$1"), plan)).toThrow(/exactly one line .*found 2/);
  });

  it("is deterministic: equal selections in another order give the same bytes", () => {
    expect(render({ profiles: ["monitoring", "devel"], test_suites: ["ltp", "fstests"] })).toBe(
      render({ profiles: ["devel", "monitoring"], test_suites: ["fstests", "ltp"] }),
    );
  });
});
