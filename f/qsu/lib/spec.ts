// The guest's specification: the boot form's input, checked field by field before
// anything on disk changes. Each failure is one InputError sentence naming the field.
// The checks that look at the machine (does a share's folder exist, is a host port
// free) go through `Probes`, so the whole validation runs with fakes in unit tests and
// with the real machine in a step.

import { basename, dirname } from "node:path";
import { InputError } from "../../common/errors.ts";
import { ClosureResult, KernelManifest, loadManifest, QemuManifest } from "../../common/manifest.ts";
import { parseInputs } from "../../common/inputs.ts";
import { Inputs, readiness } from "../boot/inputs.ts";

export type Accel = "auto" | "kvm" | "tcg";
export type Transport = "virtiofs" | "9p";

/** The boot form, as the step receives it (a field that is null or absent takes its default). */
export type BootInput = Record<string, unknown>;

export interface Share {
  tag: string;
  source: string;
  transport: Transport;
  readonly: boolean;
  /** store and modules come from the manifests; the others from the form. */
  builtin: boolean;
}

export interface Forward {
  proto: "tcp" | "udp";
  hostAddress: string;
  hostPort: number;
  guestPort: number;
}

export interface VmSpec {
  vm: string;
  kernel: KernelManifest;
  qemu: QemuManifest;
  closure: ClosureResult;
  memoryMb: number;
  cpus: number;
  machine: string;
  accel: Accel;
  kernelParams: string[];
  shares: Share[];
  sshPort: number | null;
  forwards: Forward[];
  restrictNetwork: boolean;
  extraDisksMb: number[];
  /** A console marker to wait for, or null. */
  readyMarker: string | null;
  /** Wait for SSH: the banner, then a login with the managed key. */
  readySsh: boolean;
  timeoutS: number;
}

export interface Probes {
  /** True when the path is an existing folder. */
  isDirectory(path: string): Promise<boolean>;
  /** True when the path is an existing file. */
  isFile(path: string): Promise<boolean>;
  /** True when nothing listens on the host address and port. */
  portFree(address: string, port: number, proto: "tcp" | "udp"): Promise<boolean>;
}

export { DEFAULT_READY_MARKER, DEFAULT_SSH_PORT, MACHINES } from "../boot/inputs.ts";

/** The folder to share as the guest's /lib/modules: the one that holds `<kernelrelease>/`. */
export function modulesShareSource(kernel: Pick<KernelManifest, "modules_dir" | "kernelrelease">): string | null {
  const dir = kernel.modules_dir;
  if (!dir) return null;
  const trimmed = dir.replace(/\/+$/, "");
  return basename(trimmed) === kernel.kernelrelease ? dirname(trimmed) : trimmed;
}

/** The Nix store the closure lives in (`/nix/store` for /nix/store/<hash>-name). */
export function storeDirOf(path: string): string {
  const m = /^(\/.*?\/store)\/[0-9a-z]{32}-[^/]+/.exec(path);
  return m ? m[1]! : "/nix/store";
}

/**
 * Validate the boot form. `ownPorts` are host ports the same VM holds now: a reboot
 * frees them, so they do not count as taken.
 */
export async function validateBootInput(raw: BootInput, probes: Probes, ownPorts: ReadonlySet<number> = new Set()): Promise<VmSpec> {
  const input = parseInputs(Inputs, raw);
  const kernel = await loadManifest("kernel", KernelManifest, input.kernel);
  const qemu = await loadManifest("qemu", QemuManifest, input.qemu);
  const closure = await loadManifest("closure", ClosureResult, input.closure);

  const transport = input.share_transport;
  const shares: Share[] = [{ tag: "store", source: storeDirOf(closure.toplevel), transport, readonly: true, builtin: true }];
  const modules = modulesShareSource(kernel);
  if (modules) shares.push({ tag: "modules", source: modules, transport, readonly: true, builtin: true });
  for (const [i, s] of input.shares.entries()) {
    if (shares.some((x) => x.tag === s.tag)) throw new InputError(`shares[${i}].tag`, "a tag no other share uses", s.tag);
    shares.push({ tag: s.tag, source: s.path.replace(/(.)\/+$/, "$1"), transport: s.transport, readonly: s.readonly, builtin: false });
  }

  const sshPort = input.ssh_port;
  const forwards: Forward[] = [
    ...(sshPort !== 0 ? [{ proto: "tcp" as const, hostAddress: "127.0.0.1", hostPort: sshPort, guestPort: 22 }] : []),
    ...input.forwards.map((f) => ({ proto: f.proto, hostAddress: f.host_address, hostPort: f.host_port, guestPort: f.guest_port })),
  ];

  // The machine checks come last: the cheap, certain errors are reported first.
  for (const [field, path] of [
    ["kernel.image", kernel.image],
    ["qemu.qemu_binary", qemu.qemu_binary],
    ["closure.initrd", closure.initrd],
  ] as const) {
    if (!(await probes.isFile(path))) throw new InputError(field, "an existing file (the manifest names a file that is not there)", path);
  }
  for (const [i, s] of shares.entries()) {
    if (!(await probes.isDirectory(s.source))) {
      const field = s.builtin ? (s.tag === "store" ? "closure.toplevel" : "kernel.modules_dir") : `shares[${i - shares.filter((x) => x.builtin).length}].path`;
      throw new InputError(field, "an existing folder to share", s.source);
    }
  }
  for (const f of forwards) {
    if (ownPorts.has(f.hostPort)) continue;
    if (!(await probes.portFree(f.hostAddress, f.hostPort, f.proto))) {
      const field = f.guestPort === 22 && f === forwards[0] && sshPort !== 0 ? "ssh_port" : `forwards[${forwards.indexOf(f) - (sshPort !== 0 ? 1 : 0)}].host_port`;
      throw new InputError(field, `a free host port (${f.proto} ${f.hostAddress}:${f.hostPort} is already in use)`, f.hostPort);
    }
  }

  return {
    vm: input.vm,
    kernel,
    qemu,
    closure,
    memoryMb: input.memory_mb,
    cpus: input.cpus,
    machine: input.machine,
    accel: input.accel,
    kernelParams: input.kernel_params,
    shares,
    sshPort: sshPort === 0 ? null : sshPort,
    forwards,
    restrictNetwork: input.restrict_network,
    extraDisksMb: input.extra_disks_mb,
    readyMarker: readiness(input).marker,
    readySsh: readiness(input).ssh,
    timeoutS: input.timeout_s,
  };
}
