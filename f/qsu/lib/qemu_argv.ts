// The QEMU command line of a guest, computed from its validated spec. Pure: the same
// spec and the same resolved facts (accelerator, paths) always give the same vector,
// which is what the unit runs, what status shows and what the benchmark runs by hand.

import { dirname, join } from "node:path";
import type { VmSpec } from "./spec.ts";
import { diskPath, shareSocket, type VmPaths } from "./names.ts";

/** QEMU's option parser splits on ',': a literal comma inside a value is written ',,'. */
export function qemuOptValue(value: string): string {
  return value.replace(/,/g, ",,");
}

/**
 * The nixos-flake library's boot contract for an imageless guest (its README, "How it
 * boots"): systemd in the initrd makes the root from root=tmpfs; the kernel writes to the
 * serial console and the virtio console, and hvc0, named last, is /dev/console.
 */
export const IMAGELESS_KERNEL_PARAMS = ["root=tmpfs", "console=ttyS0,115200", "console=hvc0"] as const;

/**
 * Under TCG, a vhost-user daemon (virtiofsd) writes file data into guest pages behind
 * QEMU's back, and QEMU may still hold code it translated from a page's old contents:
 * code later run from such a page runs the stale translation and crashes at random
 * (SIGSEGV, SIGILL; seen in busybox, sshd and kselftests of the test guest, never with
 * the same binaries copied to a tmpfs). A guest that zeroes every page it allocates
 * writes each page with its own CPU first, which makes QEMU drop those translations.
 * KVM runs guest code natively and needs none of it.
 */
export const TCG_VHOST_USER_PARAMS = ["init_on_alloc=1"] as const;

/**
 * The kernel command line: the library's boot contract, panic=-1 (a panic ends QEMU),
 * what the accelerator needs (`accelParams`), the closure's parameters and init, the
 * form's extras last (for most parameters the last one wins). An exact repeat of an
 * earlier word is dropped.
 */
export function kernelCommandLine(spec: Pick<VmSpec, "closure" | "kernelParams">, accelParams: readonly string[] = []): string {
  const words = [...IMAGELESS_KERNEL_PARAMS, "panic=-1", ...accelParams, ...spec.closure.kernel_params, `init=${spec.closure.init}`, ...spec.kernelParams];
  return words.filter((w, i) => words.indexOf(w) === i).join(" ");
}

/** qemu-img: the manifest's, else the one beside the QEMU binary. */
export function qemuImgPath(qemu: VmSpec["qemu"]): string {
  return qemu.qemu_img ?? join(dirname(qemu.qemu_binary), "qemu-img");
}

export function qemuImgCreateArgv(qemuImg: string, path: string, sizeMb: number): string[] {
  return [qemuImg, "create", "-q", "-f", "qcow2", path, `${sizeMb}M`];
}

export function hostfwd(f: VmSpec["forwards"][number]): string {
  return `hostfwd=${f.proto}:${f.hostAddress}:${f.hostPort}-:${f.guestPort}`;
}

export function qemuArgv(spec: VmSpec, paths: VmPaths, accel: "kvm" | "tcg"): string[] {
  const argv: string[] = [spec.qemu.qemu_binary, "-name", `${qemuOptValue(spec.vm)},debug-threads=on`, "-nodefaults", "-no-user-config", "-no-reboot"];
  for (const dir of spec.qemu.firmware_dirs) argv.push("-L", dir);
  argv.push("-machine", spec.machine, "-accel", accel);
  if (accel === "kvm") argv.push("-cpu", "host");
  argv.push("-m", `${spec.memoryMb}M`, "-smp", String(spec.cpus));
  argv.push("-display", "none");
  argv.push("-chardev", `file,id=console,path=${qemuOptValue(paths.consoleLog)}`, "-serial", "chardev:console");
  // The virtio console hvc0 (the guest's login console): a socket to attach to, logged
  // while a client is attached.
  argv.push("-device", "virtio-serial-pci,id=vser0");
  argv.push("-chardev", `socket,id=hvc0,path=${qemuOptValue(paths.hvcSocket)},server=on,wait=off,logfile=${qemuOptValue(paths.hvcLog)}`);
  argv.push("-device", "virtconsole,chardev=hvc0,name=console");
  argv.push("-qmp", `unix:${qemuOptValue(paths.qmpSocket)},server=on,wait=off`);
  const fsShares = spec.shares.filter((s) => s.transport === "virtiofs");
  const accelParams = accel === "tcg" && fsShares.length > 0 ? TCG_VHOST_USER_PARAMS : [];
  argv.push("-kernel", spec.kernel.image, "-initrd", spec.closure.initrd, "-append", kernelCommandLine(spec, accelParams));

  if (fsShares.length > 0) {
    // vhost-user needs guest RAM the daemon can map: a shared memfd backs the one NUMA node.
    argv.push("-object", `memory-backend-memfd,id=mem,size=${spec.memoryMb}M,share=on`, "-numa", "node,memdev=mem");
  }
  spec.shares.forEach((s, i) => {
    if (s.transport === "virtiofs") {
      argv.push("-chardev", `socket,id=fs${i},path=${qemuOptValue(shareSocket(paths, s.tag))}`);
      argv.push("-device", `vhost-user-fs-pci,chardev=fs${i},tag=${s.tag}`);
    } else {
      const ro = s.readonly ? ",readonly=on" : "";
      argv.push("-virtfs", `local,path=${qemuOptValue(s.source)},mount_tag=${s.tag},security_model=none,id=p9${i}${ro}`);
    }
  });

  const netdev = ["user", "id=net0", ...(spec.restrictNetwork ? ["restrict=on"] : []), ...spec.forwards.map(hostfwd)].join(",");
  argv.push("-netdev", netdev, "-device", "virtio-net-pci,netdev=net0");

  spec.extraDisksMb.forEach((_, i) => {
    argv.push("-drive", `file=${qemuOptValue(diskPath(paths, i))},format=qcow2,if=none,id=disk${i},werror=report`);
    argv.push("-device", `virtio-blk-pci,drive=disk${i},serial=disk${i}`);
  });
  return argv;
}
