// Proof that rendered values cannot inject Nix: render default.nix and flake.nix with
// hostile values (quotes, `${`, newlines, backslashes) put straight into the plan, past
// the input checks, then let real Nix evaluate the files and hand every value back.
// Each must come back byte for byte, and the files must define nothing else.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capture } from "../../f/common/run.ts";
import type { ClosurePlan } from "../../f/nix/build/plan.ts";
import { renderDefaultNix, renderFlakeNix, TEMPLATE_PATH } from "../../f/nix/build/render.ts";
import { setupNixEnv } from "../harness/nix.ts";

const TEMPLATE = readFileSync(join(import.meta.dirname, "../fixtures/nixos-flake", TEMPLATE_PATH), "utf8");

const HOSTILE = [
  'vm"; networking.hostName = "pwned',
  '${builtins.abort "injected"}',
  "\\${builtins.abort \"escaped dollar\"}",
  "$${x}",
  "x\n}; evil = true; {",
  "ends with a backslash \\",
  "\\\\\"",
  "'' ${x} ''",
  "a\rb\tc",
  "ünï ✓ $ { }",
];

let dir: string;

beforeAll(async () => {
  await setupNixEnv();
  dir = mkdtempSync(join(tmpdir(), "kdevflow-nix-escape-"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hostilePlan(v: string): ClosurePlan {
  return {
    vm: "vm",
    library: `path:/lib/${v}`,
    profiles: [],
    testSuites: [],
    gates: [],
    shares: [{ tag: v, source: `/src/${v}`, target: `/mnt/${v}`, readOnly: true }],
    sshKeys: [`ssh-ed25519 AAAA ${v}`, v],
    hostname: v,
    user: v,
    sourceOverrides: [
      { package: v, input: `${v}-src`, source: { type: "git", url: `https://host/${v}`, ref: v } },
      { package: `${v}2`, input: `${v}2-src`, source: { type: "path", path: `/src/${v}` } },
    ],
  };
}

async function evalJson(file: string): Promise<unknown> {
  return JSON.parse(await capture(["nix-instantiate", "--eval", "--strict", "--json", file]));
}

describe("rendered files evaluate back to exactly the values given", () => {
  it.each(HOSTILE.map((v) => [JSON.stringify(v), v]))("%s", async (_shown, v) => {
    const plan = hostilePlan(v);
    const case_ = mkdtempSync(join(dir, "case-"));
    writeFileSync(join(case_, "default.nix"), renderDefaultNix(plan));
    writeFileSync(join(case_, "flake.nix"), renderFlakeNix(TEMPLATE, plan));
    writeFileSync(join(case_, "values.json"), JSON.stringify({ v, input: `${v}-src` }));
    writeFileSync(
      join(case_, "check.nix"),
      `let
  values = builtins.fromJSON (builtins.readFile ./values.json);
  inputs = builtins.listToAttrs [ { name = values.input; value = "the override input"; } ];
  m = import ./default.nix {
    inherit inputs;
    config.nixos-flake.user.name = "the-user";
    lib = { };
    pkgs = { };
    nixos-flake = { };
  };
  # The overlay, applied to a package set where overrideAttrs hands back its attributes.
  pkg = { overrideAttrs = f: f { }; };
  prev = builtins.listToAttrs [ { name = values.v; value = pkg; } ];
  overlaid = (builtins.head m.nixpkgs.overlays) { } prev;
  flake = import ./flake.nix;
in {
  topLevel = builtins.attrNames m;
  hostName = m.networking.hostName;
  users = builtins.attrNames m.users.users;
  rootKeys = m.users.users.root.openssh.authorizedKeys.keys;
  userKeys = m.users.users.the-user.openssh.authorizedKeys.keys;
  nixosFlake = m.nixos-flake;
  overlaid = builtins.mapAttrs (_: p: p.src) (builtins.intersectAttrs prev overlaid);
  flakeTop = builtins.attrNames flake;
  flakeInputs = flake.inputs;
}
`,
    );
    const got = (await evalJson(join(case_, "check.nix"))) as Record<string, unknown>;
    expect(got).toEqual({
      topLevel: ["imports", "networking", "nixos-flake", "nixpkgs", "users"],
      hostName: v,
      users: ["root", "the-user"].sort(),
      rootKeys: [`ssh-ed25519 AAAA ${v}`, v],
      userKeys: [`ssh-ed25519 AAAA ${v}`, v],
      nixosFlake: { user: { name: v }, shares: { [`/mnt/${v}`]: { tag: v, options: ["ro"] } } },
      overlaid: { [v]: "the override input" },
      flakeTop: ["inputs", "outputs"],
      flakeInputs: {
        "nixos-flake": { url: `path:/lib/${v}` },
        nixpkgs: { follows: "nixos-flake/nixpkgs" },
        [`${v}-src`]: { type: "git", url: `https://host/${v}`, ref: v, flake: false },
        [`${v}2-src`]: { type: "path", path: `/src/${v}`, flake: false },
      },
    });
  });
});
