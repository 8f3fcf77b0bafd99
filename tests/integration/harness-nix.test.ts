// The offline Nix configuration tests and CI use (tests/harness/nix.ts), as Debian's
// Nix reads it: no substituters, no sandbox, no build users, an empty local flake
// registry, flakes on.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { capture } from "../../f/common/run.ts";
import { testFlakes } from "../harness/flakes.ts";
import { nixTestEnv, offlineNixConf, setupNixEnv } from "../harness/nix.ts";

describe("setupNixEnv", () => {
  it("points NIX_CONF_DIR at a configuration Nix reads as offline", async () => {
    const env = await setupNixEnv();
    expect(process.env.NIX_CONF_DIR).toBe(env.NIX_CONF_DIR);
    const conf = JSON.parse(await capture(["nix", "show-config", "--json"], { env })) as Record<string, { value: unknown }>;
    expect(conf.substituters!.value).toEqual([]);
    expect(conf.sandbox!.value).toBe(false);
    expect(conf["build-users-group"]!.value).toBe("");
    const registry = conf["flake-registry"]!.value as string;
    expect(registry).toBe(join(env.NIX_CONF_DIR!, "registry.json"));
    expect(JSON.parse(await readFile(registry, "utf8"))).toEqual({ flakes: [], version: 2 });
    // Flakes work without --extra-experimental-features.
    const { devshell } = await testFlakes();
    expect(await capture(["nix", "eval", "--raw", `${devshell}#devShells.x86_64-linux.build.name`], { env })).toBe("kdevflow-test-build-shell");
  });

  it("offlineNixConf names the registry it is given", () => {
    expect(offlineNixConf("/x/registry.json")).toContain("flake-registry = /x/registry.json\n");
  });
});

describe("nixTestEnv", () => {
  it("writes a configuration per folder it is given", async () => {
    const a = await mkdtemp(join(tmpdir(), "kdevflow-nixconf-a-"));
    const b = await mkdtemp(join(tmpdir(), "kdevflow-nixconf-b-"));
    try {
      expect(await nixTestEnv(a)).toEqual({ NIX_CONF_DIR: a });
      expect(await nixTestEnv(b)).toEqual({ NIX_CONF_DIR: b });
      expect(await readFile(join(b, "nix.conf"), "utf8")).toContain(`flake-registry = ${join(b, "registry.json")}`);
    } finally {
      await rm(a, { recursive: true, force: true });
      await rm(b, { recursive: true, force: true });
    }
  });
});
