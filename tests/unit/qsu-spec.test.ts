import { describe, expect, it } from "vitest";
import { modulesShareSource, storeDirOf, validateBootInput, DEFAULT_READY_MARKER } from "../../f/qsu/lib/spec.ts";
import { baseInput, CLOSURE, fakeProbes, KERNEL, QEMU, TOPLEVEL } from "./qsu-fixtures.ts";

describe("validateBootInput: good input", () => {
  it("fills the defaults and adds the store and modules shares", async () => {
    const spec = await validateBootInput(baseInput(), fakeProbes());
    expect(spec).toMatchObject({ vm: "dev", memoryMb: 1024, cpus: 1, machine: "q35", accel: "auto", sshPort: 2222, restrictNetwork: false, readyMarker: null, readySsh: true, timeoutS: 120 });
    expect(spec.shares).toEqual([
      { tag: "store", source: "/nix/store", transport: "virtiofs", readonly: true, builtin: true },
      { tag: "modules", source: "/wb/store/linux-6.1-vanilla-0123456789ab/lib/modules", transport: "virtiofs", readonly: true, builtin: true },
    ]);
    expect(spec.forwards).toEqual([{ proto: "tcp", hostAddress: "127.0.0.1", hostPort: 2222, guestPort: 22 }]);
  });

  it("keeps user shares, forwards, disks and the 9p choice", async () => {
    const spec = await validateBootInput(
      baseInput({
        shares: [{ tag: "src", path: "/home/me/linux/", readonly: true }, { tag: "xchg", path: "/tmp/x", transport: "9p" }],
        share_transport: "9p",
        forwards: [{ host_port: 8080, guest_port: 80 }, { host_port: 5353, guest_port: 53, proto: "udp", host_address: "0.0.0.0" }],
        extra_disks_mb: [64, 128],
        ssh_port: 0,
        ready_marker: DEFAULT_READY_MARKER,
        restrict_network: true,
      }),
      fakeProbes(),
    );
    expect(spec.shares.map((s) => [s.tag, s.source, s.transport, s.readonly])).toEqual([
      ["store", "/nix/store", "9p", true],
      ["modules", "/wb/store/linux-6.1-vanilla-0123456789ab/lib/modules", "9p", true],
      ["src", "/home/me/linux", "virtiofs", true],
      ["xchg", "/tmp/x", "9p", false],
    ]);
    expect(spec.sshPort).toBeNull();
    expect(spec.forwards).toEqual([
      { proto: "tcp", hostAddress: "127.0.0.1", hostPort: 8080, guestPort: 80 },
      { proto: "udp", hostAddress: "0.0.0.0", hostPort: 5353, guestPort: 53 },
    ]);
    expect(spec.extraDisksMb).toEqual([64, 128]);
    expect(spec.restrictNetwork).toBe(true);
  });

  it("has no modules share for a kernel without modules", async () => {
    const spec = await validateBootInput(baseInput({ kernel: { ...KERNEL, modules_dir: null } }), fakeProbes());
    expect(spec.shares.map((s) => s.tag)).toEqual(["store"]);
  });

  it("does not count a port the same VM holds now as taken", async () => {
    await expect(validateBootInput(baseInput(), fakeProbes({ busy: [2222] }), new Set([2222]))).resolves.toBeTruthy();
  });

  it("checks the machine only after every field is well-formed", async () => {
    const probes = fakeProbes();
    await expect(validateBootInput(baseInput({ cpus: 0 }), probes)).rejects.toThrow(/cpus/);
    expect(probes.asked).toEqual([]);
  });
});

const bad: [string, Record<string, unknown>, RegExp, { missing?: string[]; busy?: number[] }?][] = [
  ["a VM name with /", { vm: "a/b" }, /^vm: expected a name .*got "a\/b"\.$/],
  ["a VM name with ..", { vm: "a..b" }, /^vm: expected a name/],
  ["a VM name with a space", { vm: "my vm" }, /^vm: expected a name/],
  ["a VM name over 64 characters", { vm: "v".repeat(65) }, /^vm: expected a name of at most 64/],
  ["an empty VM name", { vm: "" }, /^vm: expected/],
  ["zero memory", { memory_mb: 0 }, /^memory_mb: expected a whole number of MiB greater than 0, got 0\.$/],
  ["negative memory", { memory_mb: -5 }, /^memory_mb: expected/],
  ["fractional memory", { memory_mb: 1.5 }, /^memory_mb: expected/],
  ["zero cpus", { cpus: 0 }, /^cpus: expected/],
  ["an unknown machine", { machine: "virt" }, /^machine: expected one of "q35" or "pc", got "virt"\.$/],
  ["an unknown accelerator", { accel: "hvf" }, /^accel: expected one of "auto", "kvm" or "tcg"/],
  ["a missing kernel manifest", { kernel: undefined }, /^kernel: expected a manifest object from a build flow, got nothing\.$/],
  ["an empty kernel manifest", { kernel: {} }, /^kernel: expected a manifest from a build flow/],
  ["an invalid kernel manifest", { kernel: { ...KERNEL, image: "bzImage" } }, /^kernel\.image: expected an absolute path, got "bzImage"\.$/],
  ["a kernel manifest given as a path (the form takes the object)", { kernel: "/nonexistent/result.json" }, /^kernel: expected a manifest object from a build flow, got "\/nonexistent\/result.json"\.$/],
  ["a QEMU manifest of the wrong kind", { qemu: { ...KERNEL } }, /^qemu\.kind: expected "qemu", got "kernel"\.$/],
  ["a closure without init", { closure: { ...CLOSURE, init: undefined } }, /^closure\.init: expected an absolute path, got nothing\.$/],
  ["a closure whose initrd is not a path", { closure: { ...CLOSURE, initrd: 7 } }, /^closure\.initrd: expected an absolute path, got 7\.$/],
  ["a kernel parameter with a space", { kernel_params: ["a b"] }, /^kernel_params\[0\]: expected parameters without spaces/],
  ["a share tag with a space", { shares: [{ tag: "my src", path: "/tmp" }] }, /^shares\[0\]\.tag: expected a share tag of 1 to 36 letters, digits or '_'/],
  ["a share tag over 36 characters", { shares: [{ tag: "x".repeat(37), path: "/tmp" }] }, /^shares\[0\]\.tag: expected a share tag of 1 to 36 letters/],
  ["a share tag that is reserved", { shares: [{ tag: "store", path: "/tmp" }] }, /^shares\[0\]\.tag: expected a share tag .*other than store and modules/],
  ["two shares with one tag", { shares: [{ tag: "a", path: "/tmp" }, { tag: "a", path: "/var" }] }, /^shares\[1\]\.tag: expected a tag no other share uses/],
  ["a relative share path", { shares: [{ tag: "a", path: "tmp" }] }, /^shares\[0\]\.path: expected an absolute path/],
  ["a share whose path does not exist", { shares: [{ tag: "a", path: "/tmp" }, { tag: "b", path: "/no/such/dir" }] }, /^shares\[1\]\.path: expected an existing folder to share, got "\/no\/such\/dir"\.$/, { missing: ["/no/such/dir"] }],
  ["a store that is not there", {}, /^closure\.toplevel: expected an existing folder/, { missing: ["/nix/store"] }],
  ["a kernel image that is not there", {}, /^kernel\.image: expected an existing file/, { missing: [KERNEL.image] }],
  ["a QEMU binary that is not there", {}, /^qemu\.qemu_binary: expected an existing file/, { missing: [QEMU.qemu_binary] }],
  ["an initrd that is not there", {}, /^closure\.initrd: expected an existing file/, { missing: [CLOSURE.initrd] }],
  ["an unknown share transport", { share_transport: "nfs" }, /^share_transport: expected one of "virtiofs" or "9p"/],
  ["an SSH port in use", {}, /^ssh_port: expected a free host port \(tcp 127\.0\.0\.1:2222 is already in use\), got 2222\.$/, { busy: [2222] }],
  ["a forwarded host port in use", { forwards: [{ host_port: 8080, guest_port: 80 }] }, /^forwards\[0\]\.host_port: expected a free host port/, { busy: [8080] }],
  ["a port out of range", { ssh_port: 70000 }, /^ssh_port: expected a TCP port/],
  ["two forwards on one host port", { forwards: [{ host_port: 2222, guest_port: 80 }] }, /^forwards\[0\]\.host_port: expected a host port no other forward uses/],
  ["a bad host address", { forwards: [{ host_port: 8080, guest_port: 80, host_address: "localhost" }] }, /^forwards\[0\]\.host_address: expected an IPv4 address/],
  ["a zero-size disk", { extra_disks_mb: [0] }, /^extra_disks_mb\[0\]: expected a whole number of MiB greater than 0/],
  ["a broken marker", { ready_marker: "(" }, /^ready_marker: expected a valid regular expression/],
  ["waiting on SSH without a forward", { ssh_port: 0, ready_ssh: true }, /^ready_ssh: expected an SSH forward/],
  ["nothing to wait for: no SSH forward and no marker", { ssh_port: 0 }, /^ready_marker: expected a console marker to wait for, since the boot does not wait for SSH/],
  ["nothing to wait for: ready_ssh false and no marker", { ready_ssh: false }, /^ready_marker: expected a console marker to wait for/],
  ["a zero timeout", { timeout_s: 0 }, /^timeout_s: expected/],
];

describe("validateBootInput: bad input is one sentence naming the field", () => {
  it.each(bad)("%s", async (_name, over, message, probeOpts) => {
    const err = await validateBootInput(baseInput(over), fakeProbes(probeOpts)).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe("InputError");
    expect(err?.message).toMatch(message);
    expect(err?.message.split(/\.\s/).length).toBe(1);
  });
});

describe("modulesShareSource", () => {
  it.each([
    ["/d/lib/modules/6.1.0-x", "6.1.0-x", "/d/lib/modules"],
    ["/d/lib/modules/6.1.0-x/", "6.1.0-x", "/d/lib/modules"],
    ["/d/lib/modules", "6.1.0-x", "/d/lib/modules"],
    [null, "6.1.0-x", null],
  ])("%s with release %s shares %s", (dir, release, want) => {
    expect(modulesShareSource({ modules_dir: dir, kernelrelease: release })).toBe(want);
  });
});

describe("storeDirOf", () => {
  it.each([
    [TOPLEVEL, "/nix/store"],
    ["/custom/nix/store/0123456789abcdfghijklmnpqrsvwxyz-x", "/custom/nix/store"],
    ["/not/a/store/path", "/nix/store"],
  ])("%s is in %s", (path, want) => expect(storeDirOf(path)).toBe(want));
});
