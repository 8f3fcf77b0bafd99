// The readiness check (f/common/doctor.ts) run for real on this machine, as a worker would
// run it: in its own process, with a job environment built the way a worker builds one
// (PATH, HOME and the whitelisted variables only). With Nix configured offline, a
// Workbench, the test nixos-flake library and a real systemd user manager, every
// required check passes (KVM does not work here: the accelerator line says TCG); then
// one thing at a time is taken away and the named check fails, with exit status 1.

import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLine, readiness, verdictLine } from "../../f/common/readiness.ts";
import { run } from "../../f/common/run.ts";
import { nixTestEnv } from "../harness/nix.ts";
import { startUserManager, type UserManager } from "../harness/systemd.ts";

const REPO = resolve(import.meta.dirname, "../..");
const BUN = join(REPO, "node_modules/.bin/bun");
const DOCTOR = join(REPO, "f/common/doctor.ts");

let mgr: UserManager;
let dir: string;
let jobEnv: Record<string, string>;

beforeAll(async () => {
  mgr = await startUserManager();
  dir = await mkdtemp(join(tmpdir(), "kdevflow-doctor-test-"));
  jobEnv = {
    PATH: process.env.PATH!,
    HOME: mgr.env.HOME!,
    ...(await nixTestEnv()),
    XDG_RUNTIME_DIR: mgr.env.XDG_RUNTIME_DIR!,
    KDEVFLOW_WORKBENCH: join(dir, "workbench"),
    WORKER_INDEX: "3",
    KDEVFLOW_NIXOS_FLAKE: join(REPO, "tests/fixtures/nixos-flake"),
  };
}, 60_000);

afterAll(async () => {
  await mgr?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function doctor(env: Record<string, string>): Promise<{ exitCode: number; lines: string[] }> {
  const res = await run([BUN, DOCTOR], { env, replaceEnv: true, capture: true, quiet: true, allowFailure: true, timeoutMs: 120_000 });
  return { exitCode: res.exitCode, lines: res.stdout.split("\n").filter((l) => l && !l.startsWith("+ ")) };
}

const line = (lines: string[], name: string) => lines.find((l) => l.slice(8).startsWith(`${name}: `));

describe("kdevflow's readiness check on this machine", () => {
  it("is ready: one line per check, every required one ok, TCG as the fallback", async () => {
    const { exitCode, lines } = await doctor(jobEnv);
    expect(lines.at(-1), lines.join("\n")).toBe("ready: yes");
    expect(exitCode).toBe(0);
    for (const name of ["nix", "nix configuration", "nix store", "nixos-flake library", "git", "SYSTEM_DIR", "worker slot", "systemd --user", "virtiofsd"]) {
      expect(line(lines, name), `${name} in:\n${lines.join("\n")}`).toMatch(/^ok {6}/);
    }
    expect(line(lines, "worker slot")).toContain(join(dir, "workbench/workers/3"));
    expect(line(lines, "systemd --user")).toContain(mgr.env.XDG_RUNTIME_DIR!);
    expect(line(lines, "accelerator")).toMatch(/^ok {6}accelerator: (KVM usable|TCG fallback)/);
  }, 180_000);

  it("without git on the job's PATH: git is MISSING and the worker is not ready", async () => {
    const bin = join(dir, "bin-without-git");
    await mkdir(bin, { recursive: true });
    for (const tool of ["nix", "systemctl", "b4", "qemu-system-x86_64"]) {
      const found = (await run(["sh", "-c", 'command -v "$1"', "sh", tool], { capture: true, quiet: true, allowFailure: true })).stdout.trim();
      if (found) await symlink(found, join(bin, tool)).catch(() => undefined);
    }
    const { exitCode, lines } = await doctor({ ...jobEnv, PATH: bin });
    expect(exitCode).toBe(1);
    expect(line(lines, "git")).toMatch(/^MISSING git: not found on PATH/);
    expect(lines.at(-1)).toMatch(/^ready: no \(missing: .*git/);
    expect(line(lines, "nix")).toMatch(/^ok/);
  }, 180_000);

  it("without XDG_RUNTIME_DIR (not whitelisted): systemd --user is MISSING", async () => {
    const { XDG_RUNTIME_DIR: _gone, ...env } = jobEnv;
    const { exitCode, lines } = await doctor(env);
    expect(exitCode).toBe(1);
    expect(line(lines, "systemd --user")).toMatch(/^MISSING systemd --user: XDG_RUNTIME_DIR is not set/);
    expect(lines.at(-1)).toBe("ready: no (missing: systemd --user)");
  }, 180_000);

  it("with a runtime folder where no manager listens: systemd --user is MISSING", async () => {
    const empty = join(dir, "no-manager");
    await mkdir(empty, { recursive: true, mode: 0o700 });
    const { lines } = await doctor({ ...jobEnv, XDG_RUNTIME_DIR: empty });
    expect(line(lines, "systemd --user")).toMatch(/^MISSING systemd --user: systemctl --user does not answer/);
  }, 180_000);

  it("with WORKERS_DIR under a file: the worker slot is MISSING", async () => {
    const file = join(dir, "a-file");
    await writeFile(file, "");
    const { exitCode, lines } = await doctor({ ...jobEnv, WORKERS_DIR: join(file, "workers") });
    expect(exitCode).toBe(1);
    expect(line(lines, "worker slot")).toBe(`MISSING worker slot: ${join(file, "workers/3")}: ${file} is not a folder`);
  }, 180_000);

  it("with a malformed KDEVFLOW_NIX_OPTIONS: the nix configuration is MISSING, naming the variable", async () => {
    const { lines } = await doctor({ ...jobEnv, KDEVFLOW_NIX_OPTIONS: "{not json" });
    expect(line(lines, "nix configuration")).toMatch(/^MISSING nix configuration: KDEVFLOW_NIX_OPTIONS: expected a JSON object/);
  }, 180_000);

  it("with a nixos-flake library that is not there: the library is MISSING", async () => {
    const { lines } = await doctor({ ...jobEnv, KDEVFLOW_NIXOS_FLAKE: join(dir, "nowhere") });
    expect(line(lines, "nixos-flake library")).toBe(`MISSING nixos-flake library: ${join(dir, "nowhere")}/flake.nix is not there: set KDEVFLOW_NIXOS_FLAKE or give each flow nixos_flake`);
  }, 180_000);
});

describe("readiness (pure)", () => {
  it("is ready when only optional checks fail, and lists the required ones that fail", () => {
    const r = readiness([
      { name: "git", ok: true, required: true, detail: "git version 2" },
      { name: "b4", ok: false, required: false, detail: "not found on PATH" },
    ]);
    expect(verdictLine(r)).toBe("ready: yes");
    expect(r.checks.map(checkLine)).toEqual(["ok      git: git version 2", "absent  b4: not found on PATH"]);
    const r2 = readiness([...r.checks, { name: "nix", ok: false, required: true, detail: "not found on PATH" }]);
    expect(r2.missing).toEqual(["nix"]);
    expect(verdictLine(r2)).toBe("ready: no (missing: nix)");
    expect(checkLine(r2.checks[2]!)).toBe("MISSING nix: not found on PATH");
  });
});
