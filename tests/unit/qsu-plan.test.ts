import { describe, expect, it } from "vitest";
import type { WorkbenchLayout } from "../../f/common/layout.ts";
import { vmPaths, qemuUnit, virtiofsdUnit, unitDir, runtimeDir } from "../../f/qsu/lib/names.ts";
import { chooseAccel, planBoot } from "../../f/qsu/lib/plan.ts";
import { loginHelp, sshArgv } from "../../f/qsu/lib/login.ts";
import { hostfwd, kernelCommandLine, qemuArgv, qemuImgPath, qemuOptValue, TCG_VHOST_USER_PARAMS } from "../../f/qsu/lib/qemu_argv.ts";
import { validateBootInput } from "../../f/qsu/lib/spec.ts";
import { execLine, systemdQuote } from "../../f/qsu/lib/units.ts";
import { virtiofsdArgv, virtiofsdCandidates, virtiofsdFlavor } from "../../f/qsu/lib/virtiofsd.ts";
import { baseInput, fakeProbes, QEMU } from "./qsu-fixtures.ts";

const layout: WorkbenchLayout = { root: "/wb", systemDir: "/wb/system", workersDir: "/wb/workers", workerIndex: 0, slotDir: "/wb/workers/0" };
const env = { XDG_RUNTIME_DIR: "/run/user/1000", HOME: "/home/me" };
const C_FSD = { binary: "/usr/lib/qemu/virtiofsd", flavor: "c" as const };
const RUST_FSD = { binary: "/usr/libexec/virtiofsd", flavor: "rust" as const };

async function plan(over: Record<string, unknown> = {}, accel: "kvm" | "tcg" = "tcg", fsd = C_FSD, managedKey: string | null = null) {
  const spec = await validateBootInput(baseInput(over), fakeProbes());
  return { spec, plan: planBoot(spec, vmPaths(layout, env, spec.vm), accel, fsd, managedKey) };
}

function optionOf(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (argv[i - 1] === flag ? [a] : []));
}

describe("names and paths", () => {
  it("puts state under SYSTEM_DIR/vms, sockets under XDG_RUNTIME_DIR, units in the user unit folder", () => {
    const p = vmPaths(layout, env, "dev");
    expect(p).toMatchObject({
      stateDir: "/wb/system/vms/dev",
      stateFile: "/wb/system/vms/dev/vm.json",
      consoleLog: "/wb/system/vms/dev/console.log",
      runDir: "/run/user/1000/kdevflow/dev",
      qmpSocket: "/run/user/1000/kdevflow/dev/qmp.sock",
      unitDir: "/home/me/.config/systemd/user",
      qemuDropinDir: "/home/me/.config/systemd/user/qemu-system@dev.service.d",
    });
  });
  it.each([
    [{ HOME: "/h" }, "/h/.config/systemd/user"],
    [{ HOME: "/h", XDG_CONFIG_HOME: "/c" }, "/c/systemd/user"],
    [{ HOME: "/h", XDG_CONFIG_HOME: "/c", KDEVFLOW_UNIT_DIR: "/u" }, "/u"],
  ])("unit folder from %j is %s", (e, want) => expect(unitDir(e)).toBe(want));
  it("refuses a missing or relative XDG_RUNTIME_DIR", () => {
    expect(() => runtimeDir({})).toThrow(/^XDG_RUNTIME_DIR: expected/);
    expect(() => runtimeDir({ XDG_RUNTIME_DIR: "run" })).toThrow(/^XDG_RUNTIME_DIR: expected/);
  });
  it("names units so a VM's share units never collide with another VM's", () => {
    expect(qemuUnit("a-b")).toBe("qemu-system@a-b.service");
    expect(virtiofsdUnit("a-b", "store")).toBe("virtiofsd@a-b-store.service");
  });
});

describe("the QEMU command line", () => {
  it("is the whole vector for the default guest under TCG", async () => {
    const { plan: p } = await plan();
    expect(p.qemuArgv).toEqual([
      QEMU.qemu_binary,
      "-name", "dev,debug-threads=on", "-nodefaults", "-no-user-config", "-no-reboot",
      "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
      "-machine", "q35", "-accel", "tcg",
      "-m", "1024M", "-smp", "1",
      "-display", "none",
      "-chardev", "file,id=console,path=/wb/system/vms/dev/console.log", "-serial", "chardev:console",
      "-device", "virtio-serial-pci,id=vser0",
      "-chardev", "socket,id=hvc0,path=/run/user/1000/kdevflow/dev/console.sock,server=on,wait=off,logfile=/wb/system/vms/dev/hvc0.log",
      "-device", "virtconsole,chardev=hvc0,name=console",
      "-qmp", "unix:/run/user/1000/kdevflow/dev/qmp.sock,server=on,wait=off",
      "-kernel", "/wb/store/linux-6.1-vanilla-0123456789ab/bzImage",
      "-initrd", "/nix/store/abcdfghijklmnpqrsvwxyz0123456789-initrd/initrd",
      "-append", "root=tmpfs console=ttyS0,115200 console=hvc0 panic=-1 init_on_alloc=1 loglevel=4 init=/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-dev/init",
      "-object", "memory-backend-memfd,id=mem,size=1024M,share=on", "-numa", "node,memdev=mem",
      "-chardev", "socket,id=fs0,path=/run/user/1000/kdevflow/dev/fs-store.sock", "-device", "vhost-user-fs-pci,chardev=fs0,tag=store",
      "-chardev", "socket,id=fs1,path=/run/user/1000/kdevflow/dev/fs-modules.sock", "-device", "vhost-user-fs-pci,chardev=fs1,tag=modules",
      "-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22", "-device", "virtio-net-pci,netdev=net0",
    ]);
  });

  it("uses KVM with the host CPU when KVM was chosen", async () => {
    const { plan: p } = await plan({}, "kvm");
    expect(optionOf(p.qemuArgv, "-accel")).toEqual(["kvm"]);
    expect(optionOf(p.qemuArgv, "-cpu")).toEqual(["host"]);
  });

  it("sets memory, cpus, machine, restrict, forwards and extra kernel parameters", async () => {
    const { plan: p } = await plan({ memory_mb: 2048, cpus: 2, machine: "pc", restrict_network: true, forwards: [{ host_port: 8080, guest_port: 80 }], kernel_params: ["init=/bin/sh", "quiet"] });
    expect(optionOf(p.qemuArgv, "-m")).toEqual(["2048M"]);
    expect(optionOf(p.qemuArgv, "-smp")).toEqual(["2"]);
    expect(optionOf(p.qemuArgv, "-machine")).toEqual(["pc"]);
    expect(optionOf(p.qemuArgv, "-netdev")).toEqual(["user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80"]);
    expect(optionOf(p.qemuArgv, "-object")).toEqual(["memory-backend-memfd,id=mem,size=2048M,share=on"]);
    // the form's parameters come last, so its init= wins over the closure's
    expect(optionOf(p.qemuArgv, "-append")[0]).toMatch(/ init=\/nix\/store\/\S+\/init init=\/bin\/sh quiet$/);
  });

  it("has no forward at all with ssh_port 0 and no forwards", async () => {
    const { plan: p } = await plan({ ssh_port: 0, ready_marker: "UP" });
    expect(optionOf(p.qemuArgv, "-netdev")).toEqual(["user,id=net0"]);
  });

  it("uses -virtfs and no virtiofsd or memfd for 9p shares", async () => {
    const { plan: p } = await plan({ share_transport: "9p", shares: [{ tag: "src", path: "/src,with,commas", transport: "9p", readonly: true }] });
    expect(optionOf(p.qemuArgv, "-virtfs")).toEqual([
      "local,path=/nix/store,mount_tag=store,security_model=none,id=p90,readonly=on",
      "local,path=/wb/store/linux-6.1-vanilla-0123456789ab/lib/modules,mount_tag=modules,security_model=none,id=p91,readonly=on",
      "local,path=/src,,with,,commas,mount_tag=src,security_model=none,id=p92,readonly=on",
    ]);
    expect(p.qemuArgv).not.toContain("-object");
    expect(p.shareUnits).toEqual([]);
    expect(p.units).toEqual(["qemu-system@dev.service"]);
  });

  it("creates extra disks with qemu-img beside the binary and attaches them", async () => {
    const { plan: p } = await plan({ extra_disks_mb: [64, 10] });
    expect(p.disks).toEqual([
      { path: "/wb/system/vms/dev/disks/disk0.qcow2", sizeMb: 64, argv: ["/wb/store/qemu-7.2.0-vanilla-abcdefabcdef/bin/qemu-img", "create", "-q", "-f", "qcow2", "/wb/system/vms/dev/disks/disk0.qcow2", "64M"] },
      { path: "/wb/system/vms/dev/disks/disk1.qcow2", sizeMb: 10, argv: ["/wb/store/qemu-7.2.0-vanilla-abcdefabcdef/bin/qemu-img", "create", "-q", "-f", "qcow2", "/wb/system/vms/dev/disks/disk1.qcow2", "10M"] },
    ]);
    expect(optionOf(p.qemuArgv, "-drive")).toEqual([
      "file=/wb/system/vms/dev/disks/disk0.qcow2,format=qcow2,if=none,id=disk0,werror=report",
      "file=/wb/system/vms/dev/disks/disk1.qcow2,format=qcow2,if=none,id=disk1,werror=report",
    ]);
    expect(optionOf(p.qemuArgv, "-device")).toContain("virtio-blk-pci,drive=disk1,serial=disk1");
  });

  it.each([
    [{ ...QEMU, qemu_img: "/usr/bin/qemu-img" }, "/usr/bin/qemu-img"],
    [{ ...QEMU, qemu_img: null }, "/wb/store/qemu-7.2.0-vanilla-abcdefabcdef/bin/qemu-img"],
  ])("qemu-img is the manifest's, else beside the binary (%#)", (q, want) => expect(qemuImgPath(q as never)).toBe(want));

  it.each([
    ["a", "a"],
    ["a,b", "a,,b"],
    [",,", ",,,,"],
  ])("escapes commas in option values: %s", (v, want) => expect(qemuOptValue(v)).toBe(want));

  it("writes host forwards the way QEMU's user network reads them", () => {
    expect(hostfwd({ proto: "udp", hostAddress: "0.0.0.0", hostPort: 5353, guestPort: 53 })).toBe("hostfwd=udp:0.0.0.0:5353-:53");
  });

  it("builds the kernel command line in order: the library's boot contract, closure params, init, extras", () => {
    // nixos-flake's README ("How it boots"): root=tmpfs console=ttyS0,115200 console=hvc0 init=<toplevel>/init
    expect(kernelCommandLine({ closure: { kernel_params: [], init: "/i" } as never, kernelParams: [] })).toBe("root=tmpfs console=ttyS0,115200 console=hvc0 panic=-1 init=/i");
    expect(kernelCommandLine({ closure: { kernel_params: ["console=hvc0", "quiet"], init: "/i" } as never, kernelParams: ["quiet", "x=1"] })).toBe(
      "root=tmpfs console=ttyS0,115200 console=hvc0 panic=-1 quiet init=/i x=1",
    );
  });

  it("under TCG with a virtiofs share, has the guest zero its pages (stale translations of virtiofsd-filled pages); not under KVM, nor with 9p alone; the form's extras still win", async () => {
    const append = async (over: Record<string, unknown>, accel: "kvm" | "tcg") => optionOf((await plan(over, accel)).plan.qemuArgv, "-append")[0]!.split(" ");
    expect(await append({}, "tcg")).toContain("init_on_alloc=1");
    expect(await append({}, "kvm")).not.toContain("init_on_alloc=1");
    expect(await append({ share_transport: "9p" }, "tcg")).not.toContain("init_on_alloc=1");
    expect((await append({ kernel_params: ["init_on_alloc=0"] }, "tcg")).slice(-1)).toEqual(["init_on_alloc=0"]);
    expect(kernelCommandLine({ closure: { kernel_params: [], init: "/i" } as never, kernelParams: [] }, TCG_VHOST_USER_PARAMS)).toBe("root=tmpfs console=ttyS0,115200 console=hvc0 panic=-1 init_on_alloc=1 init=/i");
  });

  it("gives the guest a virtio console hvc0 on a socket beside QMP, and refuses a name that makes it too long", async () => {
    const { plan: p } = await plan();
    expect(p.paths.hvcSocket).toBe("/run/user/1000/kdevflow/dev/console.sock");
    expect(optionOf(p.qemuArgv, "-device")).toEqual(expect.arrayContaining(["virtio-serial-pci,id=vser0", "virtconsole,chardev=hvc0,name=console"]));
  });

  it("plans how to log in: root on the SSH forward with the managed key, and the ssh_config entry apply writes", async () => {
    const { plan: p } = await plan({}, "tcg", C_FSD, "/wb/system/ssh/id_ed25519");
    expect(p.login).toEqual({ vm: "dev", port: 2222, key: "/wb/system/ssh/id_ed25519", sshConfig: "/wb/system/vms/dev/ssh_config" });
    expect(p.sshConfig).toEqual({
      path: "/wb/system/vms/dev/ssh_config",
      content: [
        "# Written by kdevflow (f/qsu/boot): ssh -F /wb/system/vms/dev/ssh_config dev",
        "Host dev",
        "  HostName 127.0.0.1",
        "  Port 2222",
        "  User root",
        "  IdentityFile /wb/system/ssh/id_ed25519",
        "  IdentitiesOnly yes",
        "  StrictHostKeyChecking no",
        "  UserKnownHostsFile /dev/null",
        "  LogLevel ERROR",
        "",
      ].join("\n"),
    });
    expect(sshArgv(p.login!, ["uname", "-r"])).toEqual([
      "ssh", "-F", "/dev/null",
      "-o", "HostName=127.0.0.1", "-o", "Port=2222", "-o", "User=root", "-o", "IdentityFile=/wb/system/ssh/id_ed25519", "-o", "IdentitiesOnly=yes",
      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
      "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "127.0.0.1", "--", "uname", "-r",
    ]);
    expect(loginHelp(p.login!).command).toBe("ssh -p 2222 -i /wb/system/ssh/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1");
    const { plan: none } = await plan({ ssh_port: 0, ready_marker: "UP" });
    expect([none.login, none.sshConfig]).toEqual([null, null]);
  });
});

describe("the accelerator", () => {
  it.each([
    ["auto", true, "kvm"],
    ["auto", false, "tcg"],
    ["auto", null, "tcg"],
    ["kvm", false, "kvm"],
    ["tcg", true, "tcg"],
  ] as const)("%s with KVM probe %s is %s", (req, works, want) => expect(chooseAccel(req, works)).toBe(want));
});

describe("virtiofsd", () => {
  it.each([
    ["Usage: virtiofsd [OPTIONS] --socket-path <socket-path>\n  --shared-dir <shared-dir>  Shared directory path", "rust"],
    ["usage: virtiofsd [options]\n    -o source=PATH             shared directory tree", "c"],
    ["something else entirely", null],
  ])("tells the flavor from --help (%#)", (text, want) => expect(virtiofsdFlavor(text)).toBe(want));

  it.each([
    [C_FSD, false, ["/usr/lib/qemu/virtiofsd", "--socket-path=/s.sock", "-o", "source=/a,,b", "-o", "cache=auto"]],
    [RUST_FSD, true, ["/usr/libexec/virtiofsd", "--socket-path=/s.sock", "--shared-dir=/a,b", "--cache=auto", "--readonly"]],
    [RUST_FSD, false, ["/usr/libexec/virtiofsd", "--socket-path=/s.sock", "--shared-dir=/a,b", "--cache=auto"]],
  ])("argv for %j readonly=%s", (d, ro, want) => expect(virtiofsdArgv(d, "/s.sock", "/a,b", ro)).toEqual(want));

  it("looks beside the QEMU build first, then PATH, then the usual places; an explicit one wins", () => {
    expect(virtiofsdCandidates("/q/bin/qemu-system-x86_64", { PATH: "/usr/bin:/bin" })).toEqual([
      "/q/libexec/virtiofsd",
      "/usr/bin/virtiofsd",
      "/bin/virtiofsd",
      "/usr/libexec/virtiofsd",
      "/usr/lib/qemu/virtiofsd",
    ]);
    expect(virtiofsdCandidates("/q/bin/x", { KDEVFLOW_VIRTIOFSD: "/v" })).toEqual(["/v"]);
    expect(virtiofsdCandidates("/q/bin/x", { KDEVFLOW_VIRTIOFSD: "/v" }, "/e")).toEqual(["/e"]);
  });

  it("is required for virtiofs shares", async () => {
    const spec = await validateBootInput(baseInput(), fakeProbes());
    expect(() => planBoot(spec, vmPaths(layout, env, "dev"), "tcg", null)).toThrow(/^share_transport: expected 9p when no virtiofsd is installed/);
  });
});

describe("sockets", () => {
  it("refuses a VM whose socket paths would be too long for a unix socket", async () => {
    const spec = await validateBootInput(baseInput({ vm: "v".repeat(64) }), fakeProbes());
    const longEnv = { XDG_RUNTIME_DIR: `/tmp/${"r".repeat(40)}`, HOME: "/h" };
    expect(() => planBoot(spec, vmPaths(layout, longEnv, spec.vm), "tcg", C_FSD)).toThrow(/^vm: expected a shorter name: the socket .* is longer than 107 bytes/);
  });
});

describe("systemd quoting", () => {
  it.each([
    ["plain", '"plain"'],
    ["a b", '"a b"'],
    ['c"d', '"c\\"d"'],
    ["back\\slash", '"back\\\\slash"'],
    ["100%", '"100%%"'],
    ["$HOME ${X}", '"$$HOME $${X}"'],
    ["x\ny\tz", '"x\\ny\\tz"'],
    [";", '";"'],
    ["", '""'],
    ["it's", "\"it's\""],
  ])("%j is %s", (arg, want) => expect(systemdQuote(arg)).toBe(want));
  it("joins a vector", () => expect(execLine(["/bin/echo", "a b"])).toBe('"/bin/echo" "a b"'));
  it("refuses NUL and empty vectors", () => {
    expect(() => systemdQuote("a\0b")).toThrow();
    expect(() => execLine([])).toThrow();
  });
});
