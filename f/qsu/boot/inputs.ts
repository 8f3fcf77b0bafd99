// The inputs of f/qsu/boot, declared once: the flow form is generated from this object
// (scripts/flow-forms.ts), and its first step (plan) parses flow_input with it before
// it loads the manifests and looks at the machine (lib/spec.ts). BootFields are the
// fields that need no build: f/qsu/bringup takes them as its own and parses them before
// any build runs.

import { z } from "zod";
import { expectedBy, field } from "../../common/inputs.ts";
import { tagProblem } from "../../common/shares.ts";
import { vmField } from "../lib/fields.ts";

export const DEFAULT_READY_MARKER = "KDEVFLOW-GUEST-UP release=(\\S+)";
export const DEFAULT_SSH_PORT = 2222;
export const MACHINES = ["q35", "pc"] as const;
export const ACCELS = ["auto", "kvm", "tcg"] as const;
export const TRANSPORTS = ["virtiofs", "9p"] as const;

const whole = (min: number, max: number, expected: string) => z.number().int().min(min).max(max).meta({ expected });
const port = () => whole(1, 65535, "a port from 1 to 65535");

function regexProblem(value: string): string | null {
  if (value === "") return null;
  try {
    new RegExp(value);
    return null;
  } catch {
    return "a valid regular expression";
  }
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

const Forward = z.object({
  host_port: field(port(), { description: "The host port." }),
  guest_port: field(port(), { description: "The guest port." }),
  proto: field(z.enum(["tcp", "udp"]).default("tcp"), { description: "tcp or udp." }),
  host_address: field(
    z
      .string()
      .default("127.0.0.1")
      .superRefine(expectedBy((a) => (IPV4.test(a) && a.split(".").every((o) => Number(o) <= 255) ? null : "an IPv4 address"))),
    { description: "The host address to listen on." },
  ),
});

const Share = z.object({
  tag: field(z.string().superRefine(expectedBy(tagProblem)), { description: "The tag the guest mounts (1-36 letters, digits or '_')." }),
  path: field(z.string().superRefine(expectedBy((p) => (p.startsWith("/") ? null : "an absolute path"))), { description: "The host folder (absolute)." }),
  transport: field(z.enum(TRANSPORTS).default("virtiofs"), { description: "virtiofs or 9p." }),
  readonly: field(z.boolean().default(false), { description: "Share it read-only." }),
});

/** The boot fields that need no build (everything but the manifests and the shares). */
export const BootFields = z.strictObject({
  vm: vmField("The guest's name: one path component (letters, digits, '.', '_', '-'; at most 64). Booting an existing name restarts that guest."),
  memory_mb: field(whole(1, 1 << 20, "a whole number of MiB greater than 0").default(1024), { description: "Guest memory in MiB (greater than 0)." }),
  cpus: field(whole(1, 255, "a whole number of CPUs from 1 to 255").default(1), { description: "Virtual CPUs." }),
  machine: field(z.enum(MACHINES).default("q35"), { description: "QEMU machine type." }),
  accel: field(z.enum(ACCELS).default("auto"), {
    description: "Accelerator: auto uses KVM only when a probe guest reaches 64-bit mode under it within seconds, else TCG; kvm or tcg forces one.",
  }),
  kernel_params: field(z.array(z.string().superRefine(expectedBy((p) => (p !== "" && !/[\s\0]/.test(p) ? null : "parameters without spaces or control characters, one per item")))).default([]), {
    description: "Extra kernel parameters, appended last (so they win over the closure's).",
  }),
  share_transport: field(z.enum(TRANSPORTS).default("virtiofs"), {
    description: "How /nix/store and /lib/modules reach the guest: virtiofs (one virtiofsd@ unit each) or 9p (-virtfs).",
  }),
  ssh_port: field(whole(0, 65535, "a TCP port from 1 to 65535, or 0 for no SSH forward").default(DEFAULT_SSH_PORT), {
    description: "Host port forwarded to the guest's port 22 on 127.0.0.1; 0 for none.",
  }),
  forwards: field(z.array(Forward).default([]), { description: "More host-to-guest port forwards: host_port, guest_port, proto (tcp or udp), host_address (default 127.0.0.1)." }),
  restrict_network: field(z.boolean().default(false), { description: "Isolate the guest: user networking with restrict=on (forwards still work)." }),
  extra_disks_mb: field(z.array(whole(1, 16 << 20, "a whole number of MiB greater than 0")).default([]), {
    description: "Sizes in MiB of extra empty qcow2 disks (virtio-blk), created once with qemu-img and kept across boots.",
  }),
  ready_marker: field(z.string().default("").superRefine(expectedBy(regexProblem)), {
    description: `Regular expression the serial console must show for the guest to count as up; its first group is reported as the kernel release. Empty: none (the test library's guests print ${DEFAULT_READY_MARKER}).`,
  }),
  ready_ssh: field(z.boolean().optional(), {
    description: "Wait until SSH answers on ssh_port: its banner, then a login as root with the Workbench's managed key (running uname -r). Not given: yes when there is an SSH forward and no ready_marker.",
  }),
  timeout_s: field(whole(1, 3600, "a whole number of seconds from 1 to 3600").default(120), { description: "Seconds to wait for the guest to be up." }),
});

/** How the boot waits: SSH unless told otherwise or there is no forward, a console marker when one is given. */
export function readiness(v: { ready_ssh?: boolean | undefined; ready_marker: string; ssh_port: number }): { ssh: boolean; marker: string | null } {
  const marker = v.ready_marker === "" ? null : v.ready_marker;
  return { ssh: v.ready_ssh ?? (v.ssh_port !== 0 && marker === null), marker };
}

/** Rules between boot fields. */
export function refineBoot(v: { ready_ssh?: boolean | undefined; ready_marker: string; ssh_port: number; forwards: { proto: string; host_port: number }[] }, ctx: z.RefinementCtx): void {
  if (v.ready_ssh && v.ssh_port === 0) ctx.addIssue({ code: "custom", path: ["ready_ssh"], message: "an SSH forward to wait on (ssh_port is 0)" });
  const r = readiness(v);
  if (!r.ssh && r.marker === null) {
    ctx.addIssue({ code: "custom", path: ["ready_marker"], message: "a console marker to wait for, since the boot does not wait for SSH (ssh_port is 0 or ready_ssh is false)" });
  }
  const used = new Set(v.ssh_port ? [`tcp:${v.ssh_port}`] : []);
  v.forwards.forEach((f, i) => {
    const key = `${f.proto}:${f.host_port}`;
    if (used.has(key)) ctx.addIssue({ code: "custom", path: ["forwards", i, "host_port"], message: "a host port no other forward uses" });
    used.add(key);
  });
}

const manifest = (description: string) => field(z.record(z.string(), z.unknown()), { description, expected: "a manifest object from a build flow" });

const b = BootFields.shape;

/** The boot form, in the order it shows: the guest's name, the three manifests, then the rest. */
export const Inputs = z
  .strictObject({
    vm: b.vm,
    kernel: manifest("The kernel manifest: f/kernel/build's result (the JSON of its result.json). Its image is -kernel; its modules folder is shared as /lib/modules."),
    qemu: manifest("The QEMU manifest: f/qemu/build's result (either method). Its qemu_binary runs the guest, firmware_dirs become -L, qemu_img creates extra disks."),
    closure: manifest("The NixOS closure: f/nix/build's result. Its initrd is -initrd, its init goes on the kernel command line, and its store is shared as /nix/store."),
    memory_mb: b.memory_mb,
    cpus: b.cpus,
    machine: b.machine,
    accel: b.accel,
    kernel_params: b.kernel_params,
    shares: field(z.array(Share).default([]), {
      description: "Extra host folders: tag (1-36 letters, digits or '_'), absolute path, transport (virtiofs or 9p), readonly. The guest mounts each tag where its closure says.",
    }),
    share_transport: b.share_transport,
    ssh_port: b.ssh_port,
    forwards: b.forwards,
    restrict_network: b.restrict_network,
    extra_disks_mb: b.extra_disks_mb,
    ready_marker: b.ready_marker,
    ready_ssh: b.ready_ssh,
    timeout_s: b.timeout_s,
  })
  .superRefine(refineBoot);
export type Inputs = z.output<typeof Inputs>;
