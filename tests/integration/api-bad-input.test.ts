// Bad input as the API or a schedule sends it (`kdevflow run --api`: no form fills or
// checks anything, as with `wmill flow run`; windmill-queue/src/schedule.rs,
// windmill-api's run_flow): every flow's first step parses flow_input with its schema
// and refuses a wrong type, an unknown choice, a negative size or a name with '/' in one
// sentence naming the field, exit 2, with nothing on disk changed.

import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFlowCli } from "../harness/kernel.ts";
import { setupNixEnv } from "../harness/nix.ts";

let wb: string;
let env: Record<string, string>;

beforeAll(async () => {
  const nix = await setupNixEnv();
  wb = await mkdtemp(join(tmpdir(), "kdevflow-api-bad-"));
  env = { ...nix, KDEVFLOW_WORKBENCH: wb, SYSTEM_DIR: join(wb, "system"), WORKERS_DIR: join(wb, "workers"), WORKER_INDEX: "0" } as Record<string, string>;
});

afterAll(async () => {
  if (wb) await rm(wb, { recursive: true, force: true });
});

const manifest = { kind: "kernel" };
const cases: [string, string, Record<string, unknown>, string, RegExp][] = [
  ["f/kernel/build", "check_inputs", { git_ref: 3 }, "git_ref", /a tag, branch or commit of the linux Bare, got 3\.$/],
  ["f/kernel/build", "check_inputs", { git_ref: "v6.1", arch: "riscv" }, "arch", /one of "x86_64" or "arm64", got "riscv"\.$/],
  ["f/kernel/build", "check_inputs", { git_ref: "v6.1", ccache_max_size: "-5G" }, "ccache_max_size", /a size such as 10G/],
  ["f/kernel/build", "check_inputs", { git_ref: "v6.1", fragments: "tiny-guest" }, "fragments", /a list, got "tiny-guest"\.$/],
  ["f/qemu/build", "check_inputs", { method: "apt" }, "method", /one of "make" or "nix", got "apt"\.$/],
  ["f/qemu/build", "check_inputs", { target_list: "x86_64-softmmu" }, "target_list", /a non-empty list of QEMU targets/],
  ["f/qemu/build", "check_inputs", { ccache_max_size: "-1" }, "ccache_max_size", /a size such as 10G/],
  ["f/nix/build", "render_config", { vm: "a/b" }, "vm", /a name of at most 64 letters/],
  ["f/nix/build", "render_config", { vm: "dev", profiles: ["gaming"] }, "profiles[0]", /one of "devel", /],
  ["f/qsu/boot", "plan", { vm: "a/b", kernel: manifest, qemu: manifest, closure: manifest }, "vm", /a name of at most 64 letters/],
  ["f/qsu/boot", "plan", { vm: "dev", kernel: manifest, qemu: manifest, closure: manifest, memory_mb: -1 }, "memory_mb", /a whole number of MiB greater than 0, got -1\.$/],
  ["f/qsu/bringup", "check_inputs", { vm: "a/b" }, "vm", /a name of at most 64 letters/],
  ["f/qsu/bringup", "check_inputs", { vm: "dev", extra_disks_mb: [-64] }, "extra_disks_mb[0]", /a whole number of MiB greater than 0, got -64\.$/],
  ["f/qsu/bringup", "check_inputs", { vm: "dev", kernel: { arch: "riscv" } }, "kernel.arch", /one of "x86_64" or "arm64", got "riscv"\.$/],
  ["f/workbench/init", "sync_mirrors", { sources: [{ name: "a/b", url: "/x" }] }, "sources[0].name", /a name of at most 64 letters/],
  ["f/workbench/fetch", "sync_mirrors", { only_due: "yes" }, "only_due", /true or false, got "yes"\.$/],
  ["f/qsu/stop", "stop", { vm: "a/b" }, "vm", /a name of at most 64 letters/],
  ["f/qsu/destroy", "destroy", { vm: "dev", timeout_s: -1 }, "timeout_s", /a whole number of seconds from 1 to 3600, got -1\.$/],
  ["f/qsu/status", "status", { vm: 7 }, "vm", /got 7\.$/],
];

describe("bad input through the API: refused by the flow's first step, nothing on disk changed", () => {
  it.each(cases)("%s %j", async (flow, first, input, field, expected) => {
    const res = await runFlowCli(flow, input, env, { api: true });
    expect(res.exitCode, res.stderr).toBe(2);
    const last = res.stderr.trim().split("\n").pop()!;
    expect(last.startsWith(`kdevflow: step ${first} failed: InputError: ${field}: expected `), last).toBe(true);
    expect(last).toMatch(expected);
    // The first step was the only one that ran (a failure module may follow it).
    const ran = [...res.stderr.matchAll(/^==> step (\w+)/gm)].map((m) => m[1]!).filter((id) => id !== "failure");
    expect(ran).toEqual([first]);
    expect(await readdir(wb)).toEqual([]);
  });
});
