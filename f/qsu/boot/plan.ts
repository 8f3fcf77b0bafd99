// Step 1 of f/qsu/boot: validate the guest's form against its manifests and the machine
// (share folders exist, host ports are free, virtiofsd and the accelerator found), then
// plan the unit files and the QEMU command line. Nothing on disk changes; the plan is
// printed and returned for the apply and wait_ready steps.

import { prepareBoot } from "../lib/guest.ts";

export async function main(
  vm: string,
  kernel: unknown,
  qemu: unknown,
  closure: unknown,
  memory_mb: number = 1024,
  cpus: number = 1,
  machine: "q35" | "pc" = "q35",
  accel: "auto" | "kvm" | "tcg" = "auto",
  kernel_params: string[] = [],
  shares: { tag: string; path: string; transport?: "virtiofs" | "9p"; readonly?: boolean }[] = [],
  share_transport: "virtiofs" | "9p" = "virtiofs",
  ssh_port: number = 2222,
  forwards: { host_port: number; guest_port: number; proto?: "tcp" | "udp"; host_address?: string }[] = [],
  restrict_network: boolean = false,
  extra_disks_mb: number[] = [],
  ready_marker: string = "KDEVFLOW-GUEST-UP release=(\\S+)",
  ready_ssh: boolean = false,
  timeout_s: number = 120,
) {
  return prepareBoot({
    vm,
    kernel,
    qemu,
    closure,
    memory_mb,
    cpus,
    machine,
    accel,
    kernel_params,
    shares,
    share_transport,
    ssh_port,
    forwards,
    restrict_network,
    extra_disks_mb,
    ready_marker,
    ready_ssh,
    timeout_s,
  });
}
