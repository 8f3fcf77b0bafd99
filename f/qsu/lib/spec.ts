// The guest's specification: the boot form's input, checked field by field before
// anything on disk changes. Each failure is one InputError sentence naming the field.
// The checks that look at the machine (does a share's folder exist, is a host port
// free) go through `Probes`, so the whole validation runs with fakes in unit tests and
// with the real machine in a step.

import { basename, dirname, isAbsolute } from "node:path";
import { InputError } from "../../common/errors.ts";
import { checkName } from "../../common/layout.ts";
import { ClosureResult, KernelManifest, loadManifest, QemuManifest } from "../../common/manifest.ts";

export type Accel = "auto" | "kvm" | "tcg";
export type Transport = "virtiofs" | "9p";

export interface ShareInput {
  tag: string;
  path: string;
  transport?: Transport;
  readonly?: boolean;
}

export interface ForwardInput {
  host_port: number;
  guest_port: number;
  proto?: "tcp" | "udp";
  host_address?: string;
}

/** The boot form, as the step receives it (manifests inline or as result.json paths). */
export interface BootInput {
  vm: string;
  kernel: unknown;
  qemu: unknown;
  closure: unknown;
  memory_mb?: number;
  cpus?: number;
  machine?: string;
  accel?: Accel;
  kernel_params?: string[];
  shares?: ShareInput[];
  share_transport?: Transport;
  ssh_port?: number;
  forwards?: ForwardInput[];
  restrict_network?: boolean;
  extra_disks_mb?: number[];
  ready_marker?: string;
  ready_ssh?: boolean;
  timeout_s?: number;
}

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
  readyMarker: string;
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

/** What the test closure's init prints once it runs from the shared store: its `uname -r` is group 1. */
export const DEFAULT_READY_MARKER = "KDEVFLOW-GUEST-UP release=(\\S+)";
export const DEFAULT_SSH_PORT = 2222;
export const MACHINES = ["q35", "pc"] as const;
export const RESERVED_TAGS = ["store", "modules"];
const TAG_RE = /^[A-Za-z0-9_]{1,36}$/;

function wholeNumber(field: string, value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(field, what, value);
  }
  return value;
}

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

function checkRegex(field: string, value: string): string {
  try {
    new RegExp(value);
  } catch {
    throw new InputError(field, "a valid regular expression", value);
  }
  if (value === "") throw new InputError(field, "a non-empty regular expression", value);
  return value;
}

/**
 * Validate the boot form. `ownPorts` are host ports the same VM holds now: a reboot
 * frees them, so they do not count as taken.
 */
export async function validateBootInput(input: BootInput, probes: Probes, ownPorts: ReadonlySet<number> = new Set()): Promise<VmSpec> {
  const vm = checkName("vm", input.vm);
  const memoryMb = wholeNumber("memory_mb", input.memory_mb ?? 1024, 1, 1 << 20, "a whole number of MiB greater than 0");
  const cpus = wholeNumber("cpus", input.cpus ?? 1, 1, 255, "a whole number of CPUs from 1 to 255");
  const machine = input.machine ?? "q35";
  if (!(MACHINES as readonly string[]).includes(machine)) throw new InputError("machine", `one of ${MACHINES.join(", ")}`, machine);
  const accel = input.accel ?? "auto";
  if (!["auto", "kvm", "tcg"].includes(accel)) throw new InputError("accel", "auto, kvm or tcg", accel);

  const kernel = await loadManifest("kernel", KernelManifest, input.kernel);
  const qemu = await loadManifest("qemu", QemuManifest, input.qemu);
  const closure = await loadManifest("closure", ClosureResult, input.closure);

  const kernelParams = input.kernel_params ?? [];
  if (!Array.isArray(kernelParams)) throw new InputError("kernel_params", "a list of kernel parameters", kernelParams);
  for (const p of kernelParams) {
    if (typeof p !== "string" || p === "" || /[\s\0]/.test(p)) throw new InputError("kernel_params", "parameters without spaces or control characters, one per item", p);
  }

  const transport = input.share_transport ?? "virtiofs";
  if (transport !== "virtiofs" && transport !== "9p") throw new InputError("share_transport", "virtiofs or 9p", transport);
  const shares: Share[] = [{ tag: "store", source: storeDirOf(closure.toplevel), transport, readonly: true, builtin: true }];
  const modules = modulesShareSource(kernel);
  if (modules) shares.push({ tag: "modules", source: modules, transport, readonly: true, builtin: true });
  for (const [i, s] of (input.shares ?? []).entries()) {
    const field = `shares[${i}]`;
    if (!s || typeof s !== "object") throw new InputError(field, "an object with tag and path", s);
    if (typeof s.tag !== "string" || !TAG_RE.test(s.tag)) throw new InputError(`${field}.tag`, "1 to 36 letters, digits or '_'", s.tag);
    if (RESERVED_TAGS.includes(s.tag)) throw new InputError(`${field}.tag`, `a tag other than ${RESERVED_TAGS.join(" and ")} (the boot flow shares those)`, s.tag);
    if (shares.some((x) => x.tag === s.tag)) throw new InputError(`${field}.tag`, "a tag no other share uses", s.tag);
    const t = s.transport ?? "virtiofs";
    if (t !== "virtiofs" && t !== "9p") throw new InputError(`${field}.transport`, "virtiofs or 9p", t);
    if (typeof s.path !== "string" || !isAbsolute(s.path)) throw new InputError(`${field}.path`, "an absolute path", s.path);
    shares.push({ tag: s.tag, source: s.path.replace(/(.)\/+$/, "$1"), transport: t, readonly: Boolean(s.readonly), builtin: false });
  }

  const forwards: Forward[] = [];
  const sshPort = input.ssh_port === undefined ? DEFAULT_SSH_PORT : input.ssh_port;
  if (sshPort !== 0) {
    wholeNumber("ssh_port", sshPort, 1, 65535, "a TCP port from 1 to 65535, or 0 for no SSH forward");
    forwards.push({ proto: "tcp", hostAddress: "127.0.0.1", hostPort: sshPort, guestPort: 22 });
  }
  for (const [i, f] of (input.forwards ?? []).entries()) {
    const field = `forwards[${i}]`;
    if (!f || typeof f !== "object") throw new InputError(field, "an object with host_port and guest_port", f);
    const proto = f.proto ?? "tcp";
    if (proto !== "tcp" && proto !== "udp") throw new InputError(`${field}.proto`, "tcp or udp", proto);
    const hostPort = wholeNumber(`${field}.host_port`, f.host_port, 1, 65535, "a port from 1 to 65535");
    const guestPort = wholeNumber(`${field}.guest_port`, f.guest_port, 1, 65535, "a port from 1 to 65535");
    const hostAddress = f.host_address ?? "127.0.0.1";
    if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(hostAddress) || hostAddress.split(".").some((o) => Number(o) > 255)) {
      throw new InputError(`${field}.host_address`, "an IPv4 address", hostAddress);
    }
    if (forwards.some((x) => x.proto === proto && x.hostPort === hostPort)) throw new InputError(`${field}.host_port`, "a host port no other forward uses", hostPort);
    forwards.push({ proto, hostAddress, hostPort, guestPort });
  }

  const extraDisksMb = input.extra_disks_mb ?? [];
  if (!Array.isArray(extraDisksMb)) throw new InputError("extra_disks_mb", "a list of disk sizes in MiB", extraDisksMb);
  extraDisksMb.forEach((d, i) => wholeNumber(`extra_disks_mb[${i}]`, d, 1, 16 << 20, "a whole number of MiB greater than 0"));

  const readyMarker = checkRegex("ready_marker", input.ready_marker ?? DEFAULT_READY_MARKER);
  const readySsh = Boolean(input.ready_ssh);
  if (readySsh && sshPort === 0) throw new InputError("ready_ssh", "an SSH forward to wait on (ssh_port is 0)", true);
  const timeoutS = wholeNumber("timeout_s", input.timeout_s ?? 120, 1, 3600, "a whole number of seconds from 1 to 3600");

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
    vm,
    kernel,
    qemu,
    closure,
    memoryMb,
    cpus,
    machine,
    accel,
    kernelParams,
    shares,
    sshPort: sshPort === 0 ? null : sshPort,
    forwards,
    restrictNetwork: Boolean(input.restrict_network),
    extraDisksMb,
    readyMarker,
    readySsh,
    timeoutS,
  };
}
