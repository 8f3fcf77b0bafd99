// The rendered units against a real systemd user manager: every one passes
// `systemd-analyze verify --user`, and the manager reads back exactly the argument
// vectors kdevflow planned, even with spaces, quotes, '%', '$' and commas in paths.

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkbenchLayout } from "../../f/common/layout.ts";
import { capture, run } from "../../f/common/run.ts";
import { vmPaths } from "../../f/qsu/lib/names.ts";
import { planBoot, type BootPlan } from "../../f/qsu/lib/plan.ts";
import { validateBootInput } from "../../f/qsu/lib/spec.ts";
import { machineProbes } from "../../f/qsu/lib/guest.ts";
import { systemctl } from "../../f/qsu/lib/systemctl.ts";
import { startUserManager, type UserManager } from "../harness/systemd.ts";
import { CLOSURE, KERNEL, QEMU } from "../unit/qsu-fixtures.ts";

let mgr: UserManager;
let root: string;
let plan: BootPlan;

beforeAll(async () => {
  mgr = await startUserManager();
  root = await mkdtemp(join(tmpdir(), "kdevflow-qsu-units-"));
  const weird = join(root, `share with "quotes", 100% $HOME`);
  await mkdir(weird, { recursive: true });
  const modules = join(root, "modules", "lib", "modules", KERNEL.kernelrelease);
  await mkdir(modules, { recursive: true });
  const layout: WorkbenchLayout = { root, systemDir: join(root, "system"), workersDir: join(root, "workers"), workerIndex: 0, slotDir: join(root, "workers", "0") };
  const spec = await validateBootInput(
    {
      vm: "units-test",
      kernel: { ...KERNEL, image: join(root, "bzImage"), modules_dir: modules },
      qemu: { ...QEMU, qemu_binary: "/usr/bin/qemu-system-x86_64", qemu_img: "/usr/bin/qemu-img" },
      closure: CLOSURE,
      shares: [{ tag: "weird", path: weird }],
      kernel_params: ["quote=\"x\"", "pct=50%"],
      ssh_port: 0,
      ready_marker: "UP",
      extra_disks_mb: [8],
    },
    { ...machineProbes, isDirectory: async (p) => p === "/nix/store" || machineProbes.isDirectory(p), isFile: async () => true },
  );
  plan = planBoot(spec, vmPaths(layout, mgr.env, spec.vm), "tcg", { binary: "/usr/lib/qemu/virtiofsd", flavor: "c" });
  for (const f of plan.files) {
    await mkdir(join(f.path, ".."), { recursive: true });
    await writeFile(f.path, f.content);
  }
});

afterAll(async () => {
  await mgr?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("rendered units with a real user manager", () => {
  it("are written where the manager looks", () => {
    for (const f of plan.files) expect(f.path.startsWith(mgr.configDir)).toBe(true);
  });

  it("every instance and both templates pass systemd-analyze verify --user", async () => {
    const paths = [...plan.units.map((u) => join(mgr.configDir, u)), join(mgr.configDir, "qemu-system@.service"), join(mgr.configDir, "virtiofsd@.service")];
    for (const p of paths) {
      const res = await run(["systemd-analyze", "verify", "--user", p], { env: mgr.env, replaceEnv: true, capture: true, allowFailure: true });
      expect(`${res.stdout}${res.stderr}`.trim(), p).toBe("");
      expect(res.exitCode, p).toBe(0);
    }
  });

  it("the manager reads back the exact QEMU and virtiofsd vectors", async () => {
    await systemctl(mgr.env, ["daemon-reload"]);
    for (const [unit, argv] of [[plan.qemuUnit, plan.qemuArgv], ...plan.shareUnits.map((u) => [u.unit, u.argv] as const)] as const) {
      // `systemctl show` prints argv[] space-joined, with '$' still escaped as '$$' (it is
      // expanded when the command runs; the next test checks what actually runs).
      const shown = await capture(["systemctl", "--user", "show", "--property=ExecStart", "--value", unit], { env: mgr.env, replaceEnv: true });
      expect(shown).toContain(`argv[]=${argv.map((a) => a.replace(/\$/g, "$$$$")).join(" ")} ;`);
    }
  });

  it("runs a drop-in's vector verbatim (checked with a unit that prints its arguments)", async () => {
    const out = join(root, "args.out");
    const tricky = ["a b", 'c"d', "it's", "100%", "$HOME", "${HOME}", "back\\slash", ";", "x,y"];
    const dir = join(mgr.configDir, "qemu-system@argcheck.service.d");
    await mkdir(dir, { recursive: true });
    const { execLine } = await import("../../f/qsu/lib/units.ts");
    await writeFile(join(dir, "kdevflow.conf"), `[Service]\nType=oneshot\nStandardOutput=file:${out}\nExecStart=\nExecStart=${execLine(["/usr/bin/printf", "[%s]\\n", ...tricky])}\n`);
    await systemctl(mgr.env, ["daemon-reload"]);
    await systemctl(mgr.env, ["start", "qemu-system@argcheck.service"]);
    const { readFile } = await import("node:fs/promises");
    expect((await readFile(out, "utf8")).trim().split("\n")).toEqual(tricky.map((t) => `[${t}]`));
  });

  it("a 9p-only guest's drop-in (no daemons, no dependencies) passes verify too", async () => {
    const spec = await validateBootInput(
      { vm: "ninep-only", kernel: { ...KERNEL, image: join(root, "bzImage"), modules_dir: join(root, "modules", "lib", "modules") }, qemu: { ...QEMU, qemu_binary: "/usr/bin/qemu-system-x86_64" }, closure: CLOSURE, share_transport: "9p", ssh_port: 0, ready_marker: "UP" },
      { ...machineProbes, isDirectory: async (p) => p === "/nix/store" || machineProbes.isDirectory(p), isFile: async () => true },
    );
    const layout: WorkbenchLayout = { root, systemDir: join(root, "system"), workersDir: join(root, "workers"), workerIndex: 0, slotDir: join(root, "workers", "0") };
    const p9 = planBoot(spec, vmPaths(layout, mgr.env, spec.vm), "tcg", null);
    for (const f of p9.files) {
      await mkdir(join(f.path, ".."), { recursive: true });
      await writeFile(f.path, f.content);
    }
    const res = await run(["systemd-analyze", "verify", "--user", join(mgr.configDir, p9.qemuUnit)], { env: mgr.env, replaceEnv: true, capture: true, allowFailure: true });
    expect(`${res.stdout}${res.stderr}`.trim()).toBe("");
    expect(res.exitCode).toBe(0);
  });

  it("an unconfigured template instance fails instead of running half a guest", async () => {
    // Type=exec: start may return once the refusing shell was executed; the unit then fails.
    await systemctl(mgr.env, ["start", "qemu-system@nothing.service"], { allowFailure: true });
    let state = "";
    for (let i = 0; i < 50 && state !== "exit-code failed"; i++) {
      state = (await capture(["systemctl", "--user", "show", "--property=ActiveState", "--property=Result", "--value", "qemu-system@nothing.service"], { env: mgr.env, replaceEnv: true })).split("\n").sort().join(" ");
      if (state !== "exit-code failed") await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe("exit-code failed");
  });
});

describe("the user manager harness", () => {
  it("runs units in its own cgroup, and stop leaves no process and no cgroup behind", async () => {
    const { existsSync } = await import("node:fs");
    const { pidsUnder } = await import("../harness/systemd.ts");
    const m = await startUserManager();
    await run(["systemd-run", "--user", "--unit=harness-sleep", "sleep", "600"], { env: m.env, replaceEnv: true });
    const pid = Number(await capture(["systemctl", "--user", "show", "--property=MainPID", "--value", "harness-sleep.service"], { env: m.env, replaceEnv: true }));
    expect(pid).toBeGreaterThan(0);
    expect(m.cgroups.length).toBeGreaterThan(0);
    expect(m.cgroups.flatMap(pidsUnder)).toContain(pid);
    await m.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    expect(() => process.kill(m.pid, 0)).toThrow();
    for (const cg of m.cgroups) expect(existsSync(cg)).toBe(false);
    expect(existsSync(m.root)).toBe(false);
  });
});
