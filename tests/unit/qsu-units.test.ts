import { describe, expect, it } from "vitest";
import type { WorkbenchLayout } from "../../f/common/layout.ts";
import { overallState, hostPortsOf } from "../../f/qsu/lib/guest.ts";
import { probeArgv, probeFirmware, PROBE_EXIT_STATUS } from "../../f/qsu/lib/kvm.ts";
import { vmPaths } from "../../f/qsu/lib/names.ts";
import { planBoot } from "../../f/qsu/lib/plan.ts";
import { findMarker, tailLines } from "../../f/qsu/lib/ready.ts";
import { DEFAULT_READY_MARKER, validateBootInput } from "../../f/qsu/lib/spec.ts";
import { runsCurrent, type VmState } from "../../f/qsu/lib/state.ts";
import { parseShow, type UnitState } from "../../f/qsu/lib/systemctl.ts";
import { baseInput, fakeProbes } from "./qsu-fixtures.ts";

const layout: WorkbenchLayout = { root: "/wb", systemDir: "/wb/system", workersDir: "/wb/workers", workerIndex: 0, slotDir: "/wb/workers/0" };
const env = { XDG_RUNTIME_DIR: "/run/user/1000", XDG_CONFIG_HOME: "/home/me/.config", HOME: "/home/me" };

async function files(over: Record<string, unknown> = {}) {
  const spec = await validateBootInput(baseInput(over), fakeProbes());
  const plan = planBoot(spec, vmPaths(layout, env, spec.vm), "tcg", { binary: "/usr/lib/qemu/virtiofsd", flavor: "c" });
  return { plan, byName: Object.fromEntries(plan.files.map((f) => [f.path.replace("/home/me/.config/systemd/user/", ""), f.content])) };
}

function lines(text: string, key: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

describe("rendered units", () => {
  it("are two templates and one drop-in per instance, QEMU started last", async () => {
    const { plan, byName } = await files();
    expect(Object.keys(byName)).toEqual([
      "qemu-system@.service",
      "virtiofsd@.service",
      "qemu-system@dev.service.d/kdevflow.conf",
      "virtiofsd@dev-store.service.d/kdevflow.conf",
      "virtiofsd@dev-modules.service.d/kdevflow.conf",
    ]);
    expect(plan.units).toEqual(["virtiofsd@dev-store.service", "virtiofsd@dev-modules.service", "qemu-system@dev.service"]);
  });

  it("order QEMU after its daemons with Requires= and After=, never BindsTo=", async () => {
    const { byName } = await files();
    const q = byName["qemu-system@dev.service.d/kdevflow.conf"]!;
    expect(lines(q, "Requires")).toEqual(["virtiofsd@dev-store.service virtiofsd@dev-modules.service"]);
    expect(lines(q, "After")).toEqual(["virtiofsd@dev-store.service virtiofsd@dev-modules.service"]);
    for (const text of Object.values(byName)) expect(text).not.toMatch(/BindsTo=/);
    const fs = byName["virtiofsd@dev-store.service.d/kdevflow.conf"]!;
    expect(lines(fs, "PartOf")).toEqual(["qemu-system@dev.service"]);
    expect(lines(fs, "Before")).toEqual(["qemu-system@dev.service"]);
  });

  it("reset the template's ExecStart and give the exact vector, quoted for systemd", async () => {
    const { plan, byName } = await files();
    const q = byName["qemu-system@dev.service.d/kdevflow.conf"]!;
    expect(lines(q, "ExecStart")).toEqual(["", plan.qemuArgv.map((a) => `"${a}"`).join(" ")]);
    const fs = byName["virtiofsd@dev-store.service.d/kdevflow.conf"]!;
    expect(lines(fs, "ExecStartPre")).toEqual(['"/bin/rm" "-f" "/run/user/1000/kdevflow/dev/fs-store.sock"']);
    expect(lines(fs, "ExecStart")[1]).toBe('"/usr/lib/qemu/virtiofsd" "--socket-path=/run/user/1000/kdevflow/dev/fs-store.sock" "-o" "source=/nix/store" "-o" "cache=auto"');
    expect(lines(fs, "ExecStartPost")[0]).toMatch(/^"\/bin\/sh" "-c" ".*\$\$1.*" "wait-socket" "\/run\/user\/1000\/kdevflow\/dev\/fs-store.sock"$/);
  });

  it("keep the runtime folder across stops (both units share it)", async () => {
    const { byName } = await files();
    for (const name of ["qemu-system@dev.service.d/kdevflow.conf", "virtiofsd@dev-modules.service.d/kdevflow.conf"]) {
      expect(lines(byName[name]!, "RuntimeDirectory")).toEqual(["kdevflow/dev"]);
      expect(lines(byName[name]!, "RuntimeDirectoryPreserve")).toEqual(["yes"]);
    }
  });

  it("leave a QEMU drop-in without dependencies when every share is 9p", async () => {
    const { byName } = await files({ share_transport: "9p" });
    const q = byName["qemu-system@dev.service.d/kdevflow.conf"]!;
    expect(lines(q, "Requires")).toEqual([]);
    expect(Object.keys(byName)).toHaveLength(3);
  });

  it("templates refuse to run unconfigured instead of running half a guest", async () => {
    const { byName } = await files();
    for (const t of ["qemu-system@.service", "virtiofsd@.service"]) {
      expect(lines(byName[t]!, "ExecStart")[0]).toMatch(/has no kdevflow configuration.*exit 1' sh %n$/);
      expect(lines(byName[t]!, "Restart")).toEqual(["no"]);
    }
    expect(lines(byName["qemu-system@.service"]!, "KillMode")).toEqual(["mixed"]);
  });
});

describe("systemctl show parsing", () => {
  const text = [
    "Id=qemu-system@dev.service\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nActiveEnterTimestamp=@1700000000\nResult=success\nNeedDaemonReload=yes",
    "Id=virtiofsd@dev-store.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nActiveEnterTimestamp=\nResult=success",
  ].join("\n\n");
  it("gives one state per unit in order", () => {
    expect(parseShow(text, ["qemu-system@dev.service", "virtiofsd@dev-store.service", "missing.service"])).toEqual([
      { unit: "qemu-system@dev.service", load: "loaded", active: "active", sub: "running", mainPid: 4242, activeSince: 1700000000, result: "success", needReload: true },
      { unit: "virtiofsd@dev-store.service", load: "loaded", active: "inactive", sub: "dead", mainPid: 0, activeSince: null, result: "success", needReload: false },
      { unit: "missing.service", load: "unknown", active: "unknown", sub: "unknown", mainPid: 0, activeSince: null, result: "unknown", needReload: false },
    ]);
  });
});

function unit(active: string): UnitState {
  return { unit: "u", load: "loaded", active, sub: "", mainPid: 0, activeSince: null, result: "success", needReload: false };
}

describe("overall state", () => {
  it.each([
    [[], false, "absent"],
    [[unit("active"), unit("active")], true, "running"],
    [[unit("activating")], true, "starting"],
    [[unit("inactive"), unit("inactive")], true, "stopped"],
    [[unit("failed")], true, "failed"],
    [[unit("inactive"), unit("failed")], true, "failed"],
  ] as const)("%j exists=%s is %s", (units, exists, want) => expect(overallState(units as unknown as UnitState[], exists)).toBe(want));
});

describe("state file", () => {
  const runs = {
    kernel: { image: "/k", kernelrelease: "r", identity: "i", store_key: "s" },
    qemu: { qemu_binary: "/q", version: "7.2", identity: "i", store_key: "s", method: "make" },
    closure: { toplevel: "/t", init: "/t/init", initrd: "/i" },
    accel: "tcg" as const,
    qemu_argv: ["/q", "-m", "1G"],
    units: ["qemu-system@dev.service"],
  };
  it.each([
    [{ vm: "dev", current: { ...runs, configured_at: "x" }, booted: { ...runs, up_at: "y", kernelrelease_seen: "r" } }, true],
    [{ vm: "dev", current: { ...runs, configured_at: "x" }, booted: { ...runs, kernel: { ...runs.kernel, image: "/k2" }, up_at: "y", kernelrelease_seen: "r" } }, false],
    [{ vm: "dev", current: { ...runs, configured_at: "x" }, booted: { ...runs, qemu_argv: ["/q"], up_at: "y", kernelrelease_seen: "r" } }, false],
    [{ vm: "dev", current: { ...runs, configured_at: "x" }, booted: null }, false],
    [null, false],
  ])("runs what it is configured for: %#", (state, want) => expect(runsCurrent(state as VmState | null)).toBe(want));

  it("reads host ports back from a command line", () => {
    expect(hostPortsOf(["-netdev", "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:0.0.0.0:5353-:53"])).toEqual([2222, 5353]);
  });
});

describe("readiness marker", () => {
  const log = "SeaBIOS\r\nLinux version 6.1\r\nkdevflow-initrd: switching to /nix/store/x/init\r\nKDEVFLOW-GUEST-UP release=6.1.0-vanilla-0123456789ab hostname=dev\r\n";
  it("finds the default marker and captures uname -r", () => {
    expect(findMarker(log, DEFAULT_READY_MARKER)).toEqual({ line: "KDEVFLOW-GUEST-UP release=6.1.0-vanilla-0123456789ab hostname=dev", captured: "6.1.0-vanilla-0123456789ab" });
  });
  it("finds a marker without a group", () => expect(findMarker(log, "switching to")?.captured).toBeNull());
  it("is null before the marker", () => expect(findMarker("SeaBIOS\n", DEFAULT_READY_MARKER)).toBeNull());
  it("keeps the last non-empty lines", () => expect(tailLines("a\n\nb\nc\n", 2)).toBe("b\nc"));
});

describe("KVM probe firmware", () => {
  const img = probeFirmware();
  it("is 64 KiB with a far jump to F000:0000 at the reset vector", () => {
    expect(img.length).toBe(65536);
    expect([...img.slice(65536 - 16, 65536 - 11)]).toEqual([0xea, 0x00, 0x00, 0x00, 0xf0]);
  });
  it("holds a GDT with a 64-bit code segment and ends by writing 0x31 to port 0xf4", () => {
    expect([...img.slice(0x118, 0x120)]).toEqual([0xff, 0xff, 0, 0, 0, 0x9a, 0xaf, 0]);
    const code = Buffer.from(img.slice(0, 0x100));
    expect(code.indexOf(Buffer.from([0xb0, 0x31, 0xe6, 0xf4]))).toBeGreaterThan(0);
    expect(PROBE_EXIT_STATUS).toBe((0x31 << 1) | 1);
  });
  it("runs with nothing but the firmware and the exit device", () => {
    expect(probeArgv("/q", "/fw", "kvm")).toEqual(["/q", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "none", "-monitor", "none", "-m", "16", "-accel", "kvm", "-bios", "/fw", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
  });
});

describe("the user manager harness's cgroups", () => {
  it.each([
    ["hybrid (named systemd v1 + unified)", "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\ncgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n", ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"]],
    ["unified only", "proc /proc proc rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n", ["/sys/fs/cgroup"]],
    ["none", "proc /proc proc rw 0 0\n", []],
  ])("moves the manager under %s", async (_n, mounts, want) => {
    const { cgroupRoots } = await import("../harness/systemd.ts");
    expect(cgroupRoots(mounts)).toEqual(want);
  });
});
