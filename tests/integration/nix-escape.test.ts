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
    gateOn: false,
    shares: [{ tag: v, source: `/src/${v}`, target: `/mnt/${v}`, readOnly: true }],
    sshKeys: [`ssh-ed25519 AAAA ${v}`, v],
    hostname: v,
    user: v,
    sourceOverrides: [{ package: v, input: `${v}-src`, url: `git+https://host/${v}` }],
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
    writeFileSync(join(case_, "values.json"), JSON.stringify({ input: `${v}-src` }));
    writeFileSync(
      join(case_, "check.nix"),
      `let
  values = builtins.fromJSON (builtins.readFile ./values.json);
  m = import ./default.nix {
    inputs = builtins.listToAttrs [ { name = values.input; value = "the override input"; } ];
    nixos-flake = { };
  };
  flake = import ./flake.nix;
in {
  topLevel = builtins.attrNames m;
  hostName = m.networking.hostName;
  users = builtins.attrNames m.users.users;
  user = builtins.head (builtins.attrValues m.users.users);
  flakeNixosFlake = builtins.attrNames m.nixos-flake;
  shares = m.nixos-flake.shares;
  overrides = m.nixos-flake.sourceOverrides;
  flakeTop = builtins.attrNames flake;
  flakeInputs = flake.inputs;
}
`,
    );
    const got = (await evalJson(join(case_, "check.nix"))) as Record<string, unknown>;
    expect(got).toEqual({
      topLevel: ["boot", "imports", "networking", "nixos-flake", "users"],
      hostName: v,
      users: [v],
      user: { isNormalUser: true, openssh: { authorizedKeys: { keys: [`ssh-ed25519 AAAA ${v}`, v] } } },
      flakeNixosFlake: ["shares", "sourceOverrides"],
      shares: [{ tag: v, source: `/src/${v}`, mountPoint: `/mnt/${v}`, readOnly: true }],
      overrides: { [v]: "the override input" },
      flakeTop: ["description", "inputs", "outputs"],
      flakeInputs: {
        "nixos-flake": { url: `path:/lib/${v}` },
        [`${v}-src`]: { url: `git+https://host/${v}`, flake: false },
        nixpkgs: { follows: "nixos-flake/nixpkgs" },
      },
    });
  });
});
