// The build dev shell for real: Debian's Nix 2.8, offline (tests/harness/nix.ts), the
// test flake's devShells.<system>.build. A command runs inside `nix develop` (it sees
// the shell's environment, which the test process does not have), its arguments arrive
// verbatim and its exit status comes back; the shell's derivation path is a store .drv
// that stays put for the same shell and changes when the shell changes.

import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { devshellArgv, devshellDrvPath, devshellSpec, listDevshells, runInDevshell, type DevshellSpec } from "../../f/common/devshell/nix_develop.ts";
import { isInputError } from "../../f/common/errors.ts";
import { resolveToolchain } from "../../f/common/pipeline/toolchain.ts";
import { CommandError, quoteArg, run } from "../../f/common/run.ts";
import { checkFlowWiring, checkScriptSchemas, checkYamlValidator, listWorkspace } from "../harness/conformance.ts";
import { testFlakes } from "../harness/flakes.ts";
import { setupNixEnv } from "../harness/nix.ts";

/** This run's copy of tests/fixtures/devshell-flake (tests/harness/flakes.ts). */
let TEST_DEVSHELL_FLAKE: string;
let FLAKE_DIR: string;
let tmp: string;
let spec: DevshellSpec;

beforeAll(async () => {
  await setupNixEnv();
  ({ devshell: TEST_DEVSHELL_FLAKE, devshellDir: FLAKE_DIR } = await testFlakes());
  delete process.env.KDEVFLOW_TEST_DEVSHELL;
  tmp = await mkdtemp(join(tmpdir(), "kdevflow-devshell-"));
  spec = { flake: TEST_DEVSHELL_FLAKE, shell: "build", options: {} };
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const quietly = async <T>(fn: () => Promise<T>): Promise<T> => {
  const spies = [vi.spyOn(console, "log").mockImplementation(() => {}), vi.spyOn(process.stdout, "write").mockImplementation(() => true)];
  try {
    return await fn();
  } finally {
    for (const s of spies) s.mockRestore();
  }
};

const probe = ["sh", "-c", 'echo "devshell=${KDEVFLOW_TEST_DEVSHELL:-unset}"'];

describe("runInDevshell", () => {
  it("runs the command inside the shell: the shell's variable is set there and not outside", async () => {
    const inside = await quietly(() => runInDevshell(spec, probe, { capture: true }));
    expect(inside.stdout.trim()).toBe("devshell=1");
    const outside = await quietly(() => run(probe, { capture: true }));
    expect(outside.stdout.trim()).toBe("devshell=unset");
  });

  it("prints the nix develop command line before running it", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    try {
      await runInDevshell(spec, ["true"], { quiet: true });
    } finally {
      vi.restoreAllMocks();
    }
    expect(lines[0]).toBe(`+ nix --extra-experimental-features 'nix-command flakes' develop ${quoteArg(`${TEST_DEVSHELL_FLAKE}#build`)} --command true`);
  });

  it("passes arguments through verbatim and the host toolchain is on PATH", async () => {
    const args = ["a b", "it's", "$HOME", "", "*", "line\nbreak"];
    const res = await quietly(() => runInDevshell(spec, ["printf", "%s\\0", ...args], { capture: true, quiet: true }));
    expect(res.stdout.replace(/\n$/, "").split("\0").slice(0, -1)).toEqual(args);
    const cc = await quietly(() => runInDevshell(spec, ["sh", "-c", "command -v make && command -v gcc"], { capture: true, quiet: true }));
    expect(cc.stdout).toMatch(/\/make\n.*\/gcc\n$/);
  });

  it("returns the command's failure as a CommandError with its exit status", async () => {
    const err = await quietly(() => runInDevshell(spec, ["sh", "-c", "echo failing >&2; exit 7"], { quiet: true }).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).exitCode).toBe(7);
    expect((err as CommandError).tail).toContain("failing");
  });

  it("takes the flake from KDEVFLOW_NIXOS_FLAKE when the input is empty, and extra options from KDEVFLOW_NIX_OPTIONS", async () => {
    const saved = { flake: process.env.KDEVFLOW_NIXOS_FLAKE, opts: process.env.KDEVFLOW_NIX_OPTIONS };
    process.env.KDEVFLOW_NIXOS_FLAKE = FLAKE_DIR;
    process.env.KDEVFLOW_NIX_OPTIONS = "warn-dirty = false";
    try {
      const fromEnv = devshellSpec("", "build");
      expect(fromEnv).toEqual({ flake: TEST_DEVSHELL_FLAKE, shell: "build", options: { "warn-dirty": "false" } });
      expect(devshellArgv(fromEnv, ["true"])).toContain("warn-dirty");
      const res = await quietly(() => runInDevshell(fromEnv, probe, { capture: true, quiet: true }));
      expect(res.stdout.trim()).toBe("devshell=1");
    } finally {
      for (const [k, v] of [["KDEVFLOW_NIXOS_FLAKE", saved.flake], ["KDEVFLOW_NIX_OPTIONS", saved.opts]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe("devshellDrvPath", () => {
  it("is a store derivation that the same shell keeps and a changed shell changes", async () => {
    const original = await devshellDrvPath(spec);
    expect(original).toMatch(/^\/nix\/store\/[0-9a-z]{32}-kdevflow-test-build-shell\.drv$/);

    // The same flake in another folder (another checkout): the same shell, the same drv.
    const same = join(tmp, "same");
    await cp(FLAKE_DIR, same, { recursive: true });
    expect(await devshellDrvPath({ flake: `path:${same}`, shell: "build", options: {} })).toBe(original);

    // A changed shell (another variable in its environment) is another derivation.
    const changed = join(tmp, "changed");
    await cp(FLAKE_DIR, changed, { recursive: true });
    const flake = join(changed, "flake.nix");
    const text = await readFile(flake, "utf8");
    const edited = text.replace('KDEVFLOW_TEST_DEVSHELL = "1";', 'KDEVFLOW_TEST_DEVSHELL = "1";\n        EXTRA_TOOL = "added";');
    expect(edited).not.toBe(text);
    await writeFile(flake, edited);
    const other = await devshellDrvPath({ flake: `path:${changed}`, shell: "build", options: {} });
    expect(other).toMatch(/^\/nix\/store\/[0-9a-z]{32}-kdevflow-test-build-shell\.drv$/);
    expect(other).not.toBe(original);
  });

  it("a flake without the shell is an error, not a made-up path", async () => {
    const empty = join(tmp, "no-shell");
    await cp(FLAKE_DIR, empty, { recursive: true });
    await writeFile(join(empty, "flake.nix"), "{ outputs = { self }: { }; }\n");
    await expect(devshellDrvPath({ flake: `path:${empty}`, shell: "build", options: {} })).rejects.toBeInstanceOf(CommandError);
  });
});

describe("choosing the build shell from the library's shells", () => {
  // A function: the run's flake is known only once beforeAll ran.
  const inputs = () => ({ nixos_flake: TEST_DEVSHELL_FLAKE, devshell: "", ccache: false, ccache_max_size: "10G" });

  it("lists the library's shells", async () => {
    expect(await quietly(() => listDevshells(TEST_DEVSHELL_FLAKE))).toEqual(expect.arrayContaining(["build", "default"]));
  });

  it("falls back to build when the library has no build-kernel shell, and the toolchain names it and its derivation", async () => {
    const t = await quietly(() => resolveToolchain(inputs(), "build-kernel"));
    expect(t.shell).toBe("build");
    expect(t.drv).toBe(await devshellDrvPath(spec));
    expect(t.ccache_env).toEqual({ CCACHE_DISABLE: "1" });
  });

  it("a shell the library lacks is one sentence naming the shells it has", async () => {
    const err = await quietly(() => resolveToolchain({ ...inputs(), devshell: "build-rust" }, "build-kernel").catch((e: unknown) => e));
    expect(isInputError(err)).toBe(true);
    expect((err as Error).message).toBe(`devshell: expected one of the library's shells: "build" or "default", got "build-rust".`);
  });
});

describe("a step that runs a command inside nix develop", () => {
  const REPO = resolve(import.meta.dirname, "../..");

  it("works through the local engine, as a Windmill worker would run it", async () => {
    // A one-step workspace beside the real f/common: the step asks the dev shell for its
    // environment and reports its own.
    const ws = join(tmp, "workspace");
    await cp(join(REPO, "f/common"), join(ws, "f/common"), { recursive: true });
    await cp(join(REPO, "wmill.yaml"), join(ws, "wmill.yaml"));
    await symlink(join(REPO, "node_modules"), join(ws, "node_modules"));
    await mkdir(join(ws, "f/dev/shell__flow"), { recursive: true });
    await writeFile(join(ws, "f/dev/folder.meta.yaml"), "summary: dev shell test\ndisplay_name: dev\nowners: []\nextra_perms: {}\n");
    await writeFile(
      join(ws, "f/dev/in_shell.ts"),
      [
        'import { devshellSpec, runInDevshell } from "../common/devshell/nix_develop.ts";',
        "",
        'export async function main(nixos_flake: string = "") {',
        '  const res = await runInDevshell(devshellSpec(nixos_flake, "build"), ["sh", "-c", \'echo "devshell=${KDEVFLOW_TEST_DEVSHELL:-unset}"\'], { capture: true });',
        '  return { inside: res.stdout.trim(), outside: process.env.KDEVFLOW_TEST_DEVSHELL ?? "unset" };',
        "}",
        "",
      ].join("\n"),
    );
    await writeFile(
      join(ws, "f/dev/in_shell.script.yaml"),
      [
        "summary: Print the dev shell's marker",
        "description: Runs sh inside nix develop <flake>#build.",
        'lock: ""',
        "kind: script",
        "schema:",
        "  $schema: https://json-schema.org/draft/2020-12/schema",
        "  type: object",
        "  properties:",
        "    nixos_flake:",
        "      type: string",
        "      originalType: string",
        '      default: ""',
        "      description: The flake holding the build shell.",
        "  required: []",
        "",
      ].join("\n"),
    );
    await writeFile(
      join(ws, "f/dev/shell__flow/flow.yaml"),
      [
        "summary: Run a command in the build dev shell",
        "description: One step that runs sh inside nix develop.",
        "value:",
        "  modules:",
        "    - id: in_shell",
        "      value:",
        "        type: script",
        "        path: f/dev/in_shell",
        "        input_transforms:",
        "          nixos_flake:",
        "            type: javascript",
        "            expr: flow_input.nixos_flake",
        "  same_worker: true",
        "schema:",
        "  $schema: https://json-schema.org/draft/2020-12/schema",
        "  type: object",
        "  properties:",
        "    nixos_flake:",
        "      type: string",
        "      description: The flake holding the build shell.",
        "  required:",
        "    - nixos_flake",
        "",
      ].join("\n"),
    );
    // It is a workspace Windmill would take.
    const files = await listWorkspace(ws);
    expect([...(await checkYamlValidator(files)), ...(await checkFlowWiring(files)), ...(await checkScriptSchemas(files))]).toEqual([]);

    const res = await run([join(REPO, "kdevflow"), "run", "f/dev/shell", "--workspace", ws, "--set", `nixos_flake=${TEST_DEVSHELL_FLAKE}`], {
      capture: true,
      quiet: true,
      allowFailure: true,
      cwd: REPO,
    });
    expect(res.exitCode, `${res.stdout}\n${res.stderr}`).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ inside: "devshell=1", outside: "unset" });
    // The step printed the nix develop command it ran.
    expect(`${res.stdout}${res.stderr}`).toContain("develop");
  });
});
