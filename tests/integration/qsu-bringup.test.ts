// f/qsu/bringup from an empty Workbench, through the local engine (./kdevflow run): it
// provisions the linux mirror and Bare from the Debian-source fixture, builds the test
// kernel (tinyconfig + tiny-guest, warm ccache), builds QEMU with the Nix-package method
// (the test library's stand-in wraps the host QEMU in the store), builds the closure of
// the test library, and boots it as user units of a real systemd user manager. The
// guest must have mounted /nix/store and /lib/modules/<kernelrelease> over virtiofs and
// run init from the closure, and it counts as up only once SSH answered and root logged
// in with the Workbench's managed key; uname -r over SSH is the manifest's release. A
// second bring-up reuses every build.

import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readState } from "../../f/qsu/lib/state.ts";
import { linuxUpstream } from "../harness/fixtures.ts";
import { runFlowCli, TEST_KERNEL_INPUTS, testCcacheDir } from "../harness/kernel.ts";
import { testFlakes } from "../harness/flakes.ts";
import { freePort } from "../harness/net.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { suiteSetup } from "../harness/suite.ts";
import { startUserManager, type UserManager } from "../harness/systemd.ts";

let mgr: UserManager;
let wb: string;
let env: Record<string, string>;
let inputs: Record<string, unknown>;

// Every test awaits ready(): a failed setup fails them all (tests/harness/suite.ts).
const ready = suiteSetup(async () => {
  const nixEnv = await setupNixEnv();
  const upstream = await linuxUpstream();
  const flakes = await testFlakes();
  mgr = await startUserManager();
  wb = await mkdtemp(join(tmpdir(), "kdevflow-qsu-bringup-"));
  const flake = flakes.library;
  env = { ...mgr.env, ...nixEnv, KDEVFLOW_WORKBENCH: wb, SYSTEM_DIR: join(wb, "system"), WORKERS_DIR: join(wb, "workers"), WORKER_INDEX: "0", KDEVFLOW_CCACHE_DIR: testCcacheDir() };
  inputs = {
    vm: "up",
    workbench: { sources: [{ name: "linux", url: upstream.url, refresh_minutes: 60 }] },
    kernel: { git_ref: upstream.tag, ...TEST_KERNEL_INPUTS, nixos_flake: flakes.devshell },
    qemu: { method: "nix", nixos_flake: flake },
    nix: { nixos_flake: flake },
    accel: "tcg",
    // The boot waits for SSH (the default with a forward): up means root logged in with the managed key.
    ssh_port: await freePort(),
    memory_mb: 256,
    timeout_s: 300,
  };
});

afterAll(async () => {
  await mgr?.stop();
  if (wb) await rm(wb, { recursive: true, force: true });
});

describe("f/qsu/bringup", () => {
  // Refused by the form (as the web form would) or by the flow's first step, which parses
  // every group with its sub-flow's schema: either way exit 2, one sentence naming the
  // field as the user wrote it, and nothing built or written.
  it.each([
    ["a build group's field the form refuses", { kernel: { git_ref: "v6.1", compiler: "icc" } }, "kernel.compiler", /one of "gcc" or "clang", got "icc"\.$/],
    ["a field the build's group does not have", { qemu: { methd: "nix" } }, "qemu.methd", /one of the fields of qemu \(method, /],
    ["a VM name with '..'", { vm: "../x" }, "vm", /a name of at most 64 letters/],
    ["no memory", { memory_mb: 0 }, "memory_mb", /at least 1|greater than 0/],
    ["an SSH port out of range", { ssh_port: 70000 }, "ssh_port", /at most 65535|from 1 to 65535/],
    ["no QEMU targets", { qemu: { method: "make", target_list: [] } }, "qemu.target_list", /non-empty list|at least 1/],
    ["a source URL that is not one", { workbench: { sources: [{ name: "linux", url: "not a url" }] } }, "workbench.sources[0].url", /a git URL/],
    ["a source override that is neither a path nor a git URL", { nix: { nixos_flake: "/x", source_overrides: [{ package: "ltp", url: "not-a-url" }] } }, "nix.source_overrides[0].url", /an absolute path \(or path:\/\.\.\.\), or a git URL/],
    ["a share tag the boot flow cannot name a unit by", { nix: { shares: [{ source: "/srv", tag: "host-data" }] } }, "nix.shares[0].tag", /a share tag of 1 to 36 letters, digits or '_'/],
  ])("refuses %s with exit 2 before any build runs (the Workbench stays empty)", async (_name, change, field, expected) => {
    await ready();
    const res = await runFlowCli("f/qsu/bringup", { ...inputs, ...change }, env);
    expect(res.exitCode, res.stderr).toBe(2);
    const last = res.stderr.trim().split("\n").pop()!;
    const prefix = /^kdevflow: (step check_inputs failed: InputError: )?/.exec(last)![0];
    expect(last.slice(prefix.length).startsWith(`${field}: expected `), last).toBe(true);
    expect(last).toMatch(expected);
    expect(res.stderr).not.toContain("==> step workbench");
    expect(res.stderr).not.toContain("==> step kernel");
    expect(await readdir(wb)).toEqual([]);
  });

  it("from an empty Workbench boots the closure with the kernel it built; uname -r is the manifest's kernelrelease", async () => {
    await ready();
    const res = await runFlowCli("f/qsu/bringup", inputs, env);
    expect(res.exitCode, res.stderr.split("\n").slice(-60).join("\n")).toBe(0);
    const out = res.result as { vm: string; kernelrelease: string; console_log: string; units: string[]; ready: { how: string; captured: string }; login: { command: string; ssh_config: string } };
    const state = await readState(join(wb, "system", "vms", "up", "vm.json"));
    const release = state!.current!.kernel.kernelrelease;
    expect(out.kernelrelease).toBe(release);
    expect(state!.current!.qemu.method).toBe("nix");
    expect(state!.current!.qemu.qemu_binary).toMatch(/^\/nix\/store\//);
    expect(out.units).toEqual(["virtiofsd@up-store.service", "virtiofsd@up-modules.service", "qemu-system@up.service"]);
    const log = (await readFile(out.console_log, "utf8")).replace(/\r/g, "");
    expect(log).toContain("kdevflow-initrd: mounted /lib/modules from the virtiofs tag 'modules'");
    expect(log).toContain(`kdevflow-initrd: switching to ${state!.current!.closure.init}`);
    expect(log).toContain(`KDEVFLOW-GUEST-UP release=${release}`);
    const listing = /KDEVFLOW-GUEST-MODULES begin \/lib\/modules\/(\S+)\n([\s\S]*?)KDEVFLOW-GUEST-MODULES end/.exec(log);
    expect(listing?.[1]).toBe(release);
    expect(listing?.[2]).toMatch(/\bkernel\b|modules\./);
    // Up only when SSH answered and the managed key logged in; a command over SSH.
    expect(out.ready.how).toBe("ssh");
    expect(out.ready.captured).toBe(release);
    const uname = execFileSync("ssh", ["-F", out.login.ssh_config, "-o", "BatchMode=yes", "up", "uname", "-r"], { encoding: "utf8" }).trim();
    expect(uname).toBe(release);
    expect(out.login.command).toContain(`-i ${join(wb, "system", "ssh", "id_ed25519")}`);
  }, 3_600_000);

  it("a second bring-up reuses every build and boots again", async () => {
    await ready();
    const res = await runFlowCli("f/qsu/bringup", inputs, env);
    expect(res.exitCode, res.stderr.split("\n").slice(-60).join("\n")).toBe(0);
    expect(res.stderr).toMatch(/reus/i);
    expect((res.result as { kernelrelease: string }).kernelrelease).toBe((await readState(join(wb, "system", "vms", "up", "vm.json")))!.current!.kernel.kernelrelease);
  }, 600_000);

  it("run as the API runs it (nothing filled), with a share two levels deep: the builds are reused, the guest mounts the share", async () => {
    await ready();
    const deep = join(wb, "host", "src", "linux");
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, "hello"), "from the host\n");
    const res = await runFlowCli("f/qsu/bringup", { ...inputs, nix: { nixos_flake: (inputs.nix as { nixos_flake: string }).nixos_flake, shares: [{ source: deep, target: "/mnt/src/linux", read_only: true }] } }, env, { api: true });
    expect(res.exitCode, res.stderr.split("\n").slice(-60).join("\n")).toBe(0);
    const out = res.result as { units: string[]; login: { ssh_config: string } };
    // The tag comes from the guest path, and the boot exports the folder under it.
    expect(out.units).toContain("virtiofsd@up-mnt_src_linux.service");
    const seen = execFileSync("ssh", ["-F", out.login.ssh_config, "-o", "BatchMode=yes", "up", "cat", "/mnt/src/linux/hello"], { encoding: "utf8" });
    expect(seen).toBe("from the host\n");
  }, 1_200_000);
});
