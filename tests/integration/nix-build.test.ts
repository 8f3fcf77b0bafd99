// f/nix/build for real: Debian's Nix 2.8, offline, with this run's copy of the test
// library flake (tests/harness/flakes.ts), copied again where a test changes it.
// One test runs the flow file itself through the local engine (./kdevflow); the others
// call the three steps in the flow's order, in this process.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../f/common/errors.ts";
import { ClosureResult } from "../../f/common/manifest.ts";
import { capture } from "../../f/common/run.ts";
import { main as buildClosure } from "../../f/nix/build/build_closure.ts";
import { main as lockConfig } from "../../f/nix/build/lock_config.ts";
import type { Inputs as NixInputs } from "../../f/nix/build/inputs.ts";
import { main as renderConfig } from "../../f/nix/build/render_config.ts";
import { copyTestLibrary, testFlakes } from "../harness/flakes.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { suiteSetup } from "../harness/suite.ts";

const REPO = resolve(import.meta.dirname, "../..");
const FIXTURE = join(REPO, "tests/fixtures/nixos-flake");
const KEYS = JSON.parse(readFileSync(join(REPO, "tests/fixtures/golden/nix/ssh-keys.json"), "utf8")) as Record<string, string>;
const ENV_KEYS = ["KDEVFLOW_WORKBENCH", "KDEVFLOW_NIXOS_FLAKE", "SYSTEM_DIR", "WORKERS_DIR", "WORKER_INDEX"] as const;

let root: string;
let library: string;
let savedEnv: Record<string, string | undefined>;

/** A private copy of this run's test library, which a test may change. */
function copyLibrary(name: string): Promise<string> {
  return copyTestLibrary(join(root, name));
}

function nixDir(): string {
  return join(root, "wb", "workers", "0", "nix");
}

type FlowInputs = Partial<NixInputs> & { vm: string };

/** The flow's three steps, wired as flow.yaml wires them. */
async function runSteps(i: FlowInputs) {
  const rendered = await renderConfig(i);
  const locked = await lockConfig(rendered.config_dir, rendered.nixos_flake, rendered.update_lock);
  const built = await buildClosure(locked.config_dir);
  return { rendered, locked, built };
}

function configJson(toplevel: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(toplevel, "etc/kdevflow/config.json"), "utf8"));
}

// Every test awaits ready(): a failed setup fails them all (tests/harness/suite.ts).
const ready = suiteSetup(async () => {
  await setupNixEnv();
  root = mkdtempSync(join(tmpdir(), "kdevflow-nix-build-"));
  library = (await testFlakes()).libraryDir;
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  process.env.KDEVFLOW_WORKBENCH = join(root, "wb");
  process.env.KDEVFLOW_NIXOS_FLAKE = `path:${library}`;
});

afterAll(() => {
  if (savedEnv) {
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  }
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the flow renders, locks and builds with the test library", () => {
  it("runs f/nix/build through the local engine: a fully featured closure whose init and initrd exist", async () => {
    await ready();
    const run = spawnSync(join(REPO, "kdevflow"), ["run", "f/nix/build", "--set", "vm=full"], { cwd: REPO, env: process.env, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    const result = ClosureResult.parse(JSON.parse(run.stdout));
    expect(result.config_dir).toBe(join(nixDir(), "full"));
    expect(existsSync(result.init)).toBe(true);
    expect(existsSync(result.initrd)).toBe(true);
    expect(result.init).toBe(`${result.toplevel}/init`);
    expect(result.kernel_params).toEqual(["console=ttyS0"]);
    // render_config printed both files into the log.
    expect(run.stderr).toContain(`----- ${join(result.config_dir, "flake.nix")}`);
    expect(run.stderr).toContain("nixos-flake.monitoring.enable = true;");
    expect(readdirSync(result.config_dir).sort()).toEqual(["default.nix", "flake.lock", "flake.nix", "result", "result.json"]);
    expect(JSON.parse(readFileSync(join(result.config_dir, "result.json"), "utf8"))).toEqual(result);
    const cfg = configJson(result.toplevel);
    expect(cfg.profiles).toEqual(["devel", "build-tools", "monitoring"]);
    expect(cfg.monitoring).toBe(true);
    expect(cfg.testSuites).toEqual(["fstests", "blktests", "ltp", "mmtests", "pynfs", "selftests", "sysbench", "gitr"]);
    expect(cfg.hostName).toBe("full");
    const boot = JSON.parse(readFileSync(join(result.toplevel, "boot.json"), "utf8"));
    expect(boot["org.nixos.bootspec.v1"]).toMatchObject({ init: result.init, initrd: result.initrd, toplevel: result.toplevel });
  });

  it("is idempotent: a second run changes no file and builds the same toplevel", async () => {
    await ready();
    const first = await runSteps({ vm: "again", profiles: ["devel"], test_suites: ["ltp"] });
    const second = await runSteps({ vm: "again", profiles: ["devel"], test_suites: ["ltp"] });
    expect(first.rendered.changed).toBe(true);
    expect(second.rendered.changed).toBe(false);
    expect(second.locked.changed).toBe(false);
    expect(second.built).toEqual(first.built);
  });

  it("carries shares, keys, the user, the host name, controller and a source override into the closure", async () => {
    await ready();
    const src = join(root, "ltp-source");
    cpSync(join(FIXTURE, "templates"), src, { recursive: true });
    writeFileSync(join(src, "MARKER"), "ltp override\n");
    const { built, rendered } = await runSteps({
      vm: "custom",
      profiles: ["devel", "controller"],
      test_suites: ["ltp"],
      shares: [{ source: "/srv/linux", target: "/linux", tag: "linux", read_only: true }, { source: "/srv/out" }],
      ssh_keys: [KEYS.ed25519!, KEYS.ecdsa_hostile_comment!],
      hostname: "box-1",
      user: "alice",
      source_overrides: [{ package: "ltp", url: src }],
    });
    expect(rendered.shares).toEqual([
      { tag: "linux", source: "/srv/linux", target: "/linux", read_only: true },
      { tag: "srv-out", source: "/srv/out", target: "/srv/out", read_only: false },
    ]);
    const cfg = configJson(built.toplevel) as {
      hostName: string;
      users: Record<string, { authorizedKeys: string[] }>;
      profiles: string[];
      monitoring: boolean;
      shares: unknown[];
      sourceOverrides: Record<string, string>;
    };
    expect(cfg.hostName).toBe("box-1");
    expect(Object.keys(cfg.users)).toEqual(["alice"]);
    // A key comment holding quotes, ${ and a backslash arrives byte for byte.
    expect(cfg.users.alice!.authorizedKeys).toEqual([KEYS.ed25519, KEYS.ecdsa_hostile_comment]);
    expect(cfg.profiles).toEqual(["devel", "controller"]);
    expect(cfg.monitoring).toBe(false);
    expect(cfg.shares).toEqual([
      { tag: "linux", source: "/srv/linux", mountPoint: "/linux", readOnly: true },
      { tag: "srv-out", source: "/srv/out", mountPoint: "/srv/out", readOnly: false },
    ]);
    expect(readFileSync(join(built.toplevel, "etc/kdevflow/shares"), "utf8")).toBe("linux /linux ro\nsrv-out /srv/out rw\n");
    expect(readFileSync(join(built.toplevel, "etc/hostname"), "utf8")).toBe("box-1\n");
    const override = cfg.sourceOverrides.ltp!;
    expect(override).toMatch(/^\/nix\/store\/[a-z0-9]{32}-source$/);
    expect(readFileSync(join(override, "MARKER"), "utf8")).toBe("ltp override\n");
    expect(readFileSync(join(rendered.config_dir, "flake.nix"), "utf8")).toContain(`ltp-src = { url = "path:${src}"; flake = false; };`);
  });
});

describe("concurrent runs on one VM", () => {
  it("serialise on the config lock: both succeed and the directory holds one run's files, whole", async () => {
    await ready();
    const runs = await Promise.all([
      runSteps({ vm: "race", hostname: "race-a", profiles: ["devel"], test_suites: [] }),
      runSteps({ vm: "race", hostname: "race-b", profiles: ["devel"], test_suites: [] }),
    ]);
    const dir = runs[0].rendered.config_dir;
    const text = readFileSync(join(dir, "default.nix"), "utf8");
    const host = /networking\.hostName = "(race-[ab])";/.exec(text)![1];
    const result = JSON.parse(readFileSync(join(dir, "result.json"), "utf8"));
    expect(configJson(result.toplevel).hostName).toBe(host);
    for (const r of runs) expect(existsSync(r.built.init)).toBe(true);
    expect(readdirSync(join(dir, "..")).filter((n) => n.startsWith("race") && n !== "race")).toEqual([]);
  });
});

describe("a changed library and update_lock", () => {
  it("keeps building the pinned library and says so; update_lock re-pins and builds the new one", async () => {
    await ready();
    const lib = await copyLibrary("library-changes");
    const first = await runSteps({ vm: "pin", nixos_flake: `path:${lib}` });
    expect(first.locked.library_stale).toBe(false);

    writeFileSync(join(lib, "builders/init.sh"), `${readFileSync(join(lib, "builders/init.sh"), "utf8")}# library v2\n`);

    const stale = await runSteps({ vm: "pin", nixos_flake: `path:${lib}` });
    expect(stale.locked.library_stale).toBe(true);
    expect(stale.locked.note).toMatch(/^WARNING: the library changed since flake.lock pinned it/);
    expect(stale.locked.library_pinned).toBe(first.locked.library_pinned);
    expect(stale.built.toplevel).toBe(first.built.toplevel);
    expect(readFileSync(stale.built.init, "utf8")).not.toContain("# library v2");

    const updated = await runSteps({ vm: "pin", nixos_flake: `path:${lib}`, update_lock: true });
    expect(updated.locked.action).toBe("update");
    expect(updated.locked.library_stale).toBe(false);
    const now = await capture(["nix", "--extra-experimental-features", "nix-command flakes", "hash", "path", lib]);
    expect(updated.locked.library_pinned).toBe(now);
    expect(updated.built.toplevel).not.toBe(first.built.toplevel);
    expect(readFileSync(updated.built.init, "utf8")).toContain("# library v2");

    const after = await runSteps({ vm: "pin", nixos_flake: `path:${lib}` });
    expect(after.locked.library_stale).toBe(false);
    expect(after.built.toplevel).toBe(updated.built.toplevel);
  });

  it("names update_lock when the pinned copy of a changed library is gone from the store", async () => {
    await ready();
    const lib = await copyLibrary("library-gone");
    await runSteps({ vm: "gone", nixos_flake: `path:${lib}` });
    const meta = JSON.parse(await capture(["nix", "--extra-experimental-features", "nix-command flakes", "flake", "metadata", "--json", "--no-write-lock-file", `path:${lib}`]));
    writeFileSync(join(lib, "builders/init.sh"), `${readFileSync(join(lib, "builders/init.sh"), "utf8")}# library v3\n`);
    await capture(["nix", "--extra-experimental-features", "nix-command flakes", "store", "delete", meta.path]);
    await expect(runSteps({ vm: "gone", nixos_flake: `path:${lib}` })).rejects.toThrow(/pinned copy is no longer in the Nix store; run the flow with update_lock: true/);
    const fixed = await runSteps({ vm: "gone", nixos_flake: `path:${lib}`, update_lock: true });
    expect(readFileSync(fixed.built.init, "utf8")).toContain("# library v3");
  });
});

describe("bad input: one sentence, before anything is written", () => {
  it.each<[string, FlowInputs, RegExp]>([
    ["an unknown profile", { vm: "bad", profiles: ["devel", "gaming" as "devel"] }, /^profiles\[1\]: expected one of "devel"/],
    ["an unknown test suite", { vm: "bad", test_suites: ["xfstests" as "fstests"] }, /^test_suites\[0\]: expected one of "fstests"/],
    ["a share with a relative path", { vm: "bad", shares: [{ source: "srv/linux" }] }, /^shares\[0\]\.source: expected an absolute path/],
    ["an SSH key that is not a public key", { vm: "bad", ssh_keys: [KEYS.private_ed25519_first_line!] }, /^ssh_keys\[0\]: expected an OpenSSH public key line/],
    ["an SSH key with a broken key blob", { vm: "bad", ssh_keys: ["ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQCtkLMqWFnqOA5j0mUg9WXAaDIiyKz alice@x"] }, /^ssh_keys\[0\]: .*does not hold a ssh-ed25519 key/],
    ["an invalid hostname", { vm: "bad", hostname: 'x"; y = 1; "' }, /^hostname: expected a host name/],
    ["a VM name with /", { vm: "../../etc" }, /^vm: expected a name/],
    ["a VM name with ..", { vm: "a..b" }, /^vm: expected a name/],
    ["a library without the imageless template", { vm: "bad", nixos_flake: "/nonexistent/nixos-flake" }, /^nixos_flake: expected a nixos-flake library holding templates\/imageless\/flake\.nix, got "path:\/nonexistent\/nixos-flake"\.$/],
  ])("%s", async (_name, inputs, message) => {
    await ready();
    const before = existsSync(nixDir()) ? readdirSync(nixDir()).sort() : [];
    const err = await runSteps(inputs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.trim().split("\n")).toHaveLength(1);
    expect(existsSync(nixDir()) ? readdirSync(nixDir()).sort() : []).toEqual(before);
  });
});

describe("lock_config and build_closure check their config_dir", () => {
  it.each([
    ["a relative path", "nix/vm1", /^config_dir: expected the absolute path of a per-VM config directory/],
    ["a directory render_config did not write", "/nonexistent/nix/vm1", /^config_dir: expected a directory holding a rendered flake\.nix \(run render_config first\), got "\/nonexistent\/nix\/vm1"\.$/],
  ])("%s", async (_name, dir, message) => {
    await ready();
    await expect(lockConfig(dir, "", false)).rejects.toThrow(message);
    await expect(buildClosure(dir)).rejects.toThrow(message);
    await expect(lockConfig(dir, "", false)).rejects.toBeInstanceOf(InputError);
  });
});

describe("the module stand-in is strict, like NixOS", () => {
  async function renderThenEdit(vm: string, edit: (text: string) => string) {
    const rendered = await renderConfig({ vm, profiles: ["devel"], test_suites: ["ltp"] });
    const file = join(rendered.config_dir, "default.nix");
    writeFileSync(file, edit(readFileSync(file, "utf8")));
    const locked = await lockConfig(rendered.config_dir, rendered.nixos_flake, false);
    return buildClosure(locked.config_dir);
  }

  it("fails the build on a misspelt option", async () => {
    await ready();
    await expect(renderThenEdit("typo-option", (t) => t.replace("networking.hostName", "networking.hostname"))).rejects.toThrow(
      /The option `networking.hostname' does not exist/,
    );
  });

  it("fails the build on a misspelt import", async () => {
    await ready();
    await expect(renderThenEdit("typo-import", (t) => t.replace("profiles.devel", "profiles.devell"))).rejects.toThrow(/attribute 'devell' missing/);
  });

  it("fails the build on a value of the wrong type", async () => {
    await ready();
    await expect(renderThenEdit("typo-type", (t) => t.replace("boot.kernel.enable = false;", 'boot.kernel.enable = "no";'))).rejects.toThrow(
      /The option `boot.kernel.enable' in .* is not of type boolean/,
    );
  });
});

describe("a missing or malformed bootspec is a clear error", () => {
  it.each([
    ["missing", "", /boot\.json does not exist: the closure has no bootspec/],
    ["not JSON", "printf 'not json' > \"$out/boot.json\"\n", /boot\.json is not valid JSON/],
    ["without org.nixos.bootspec.v1", "printf '{\"org.nixos.bootspec.v2\":{}}' > \"$out/boot.json\"\n", /has no "org\.nixos\.bootspec\.v1" object/],
    ["without initrd", `printf '{"org.nixos.bootspec.v1":{"init":"%s/init"}}' "$out" > "$out/boot.json"\n`, /org\.nixos\.bootspec\.v1\.initrd is missing/],
  ])("%s", async (name, replacement, message) => {
    await ready();
    const lib = await copyLibrary(`library-bootspec-${name.replace(/\W+/g, "-")}`);
    const builder = join(lib, "builders/toplevel.sh");
    const text = readFileSync(builder, "utf8");
    const line = "printf '%s\\n' \"$bootspec\" > \"$out/boot.json\"\n";
    expect(text).toContain(line);
    writeFileSync(builder, text.replace(line, replacement));
    await expect(runSteps({ vm: `bootspec-${name.replace(/\W+/g, "-")}`, nixos_flake: `path:${lib}` })).rejects.toThrow(message);
  });
});
