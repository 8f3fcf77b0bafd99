// Literal manifests and probes for the qsu unit tests (no machine is looked at).

import type { QemuManifest } from "../../f/common/manifest.ts";
import type { Probes } from "../../f/qsu/lib/spec.ts";

export const KERNEL = {
  kind: "kernel",
  image: "/wb/store/linux-6.1-vanilla-0123456789ab/bzImage",
  modules_dir: "/wb/store/linux-6.1-vanilla-0123456789ab/lib/modules/6.1.0-vanilla-0123456789ab",
  kernelrelease: "6.1.0-vanilla-0123456789ab",
  version: "6.1.0",
  identity: "0123456789ab",
  label: "vanilla",
  commit: "a".repeat(40),
  ref: "v6.1",
  config: "/wb/store/linux-6.1-vanilla-0123456789ab/config",
  config_method: "fragments",
  arch: "x86_64",
  compiler: "gcc",
  compile_commands: null,
  destdir: "/wb/workers/0/linux/destdir",
  store_path: "/wb/store/linux-6.1-vanilla-0123456789ab",
  store_key: "linux-6.1-vanilla-0123456789ab",
  worktree: "/wb/workers/0/linux",
  b4_series: null,
  reused: false,
  built_at: "2026-01-01T00:00:00Z",
} as const;

export const QEMU = {
  kind: "qemu",
  method: "make",
  qemu_binary: "/wb/store/qemu-7.2.0-vanilla-abcdefabcdef/bin/qemu-system-x86_64",
  version: "7.2.0",
  target_list: "x86_64-softmmu",
  commit: "b".repeat(40),
  ref: "v7.2.0",
  destdir: "/wb/workers/0/qemu/destdir",
  identity: "abcdefabcdef",
  label: "vanilla",
  store_path: "/wb/store/qemu-7.2.0-vanilla-abcdefabcdef",
  store_key: "qemu-7.2.0-vanilla-abcdefabcdef",
  firmware_dirs: ["/usr/share/seabios", "/usr/share/qemu"],
  qemu_img: null,
  reused: true,
  built_at: "2026-01-01T00:00:00Z",
} as const;

export const TOPLEVEL = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-dev";
export const CLOSURE = {
  toplevel: TOPLEVEL,
  init: `${TOPLEVEL}/init`,
  initrd: "/nix/store/abcdfghijklmnpqrsvwxyz0123456789-initrd/initrd",
  config_dir: "/wb/system/nix/dev",
  kernel_params: ["loglevel=4"],
};

export function fakeProbes(opts: { missing?: string[]; busy?: number[] } = {}): Probes & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async isDirectory(path) {
      asked.push(`dir ${path}`);
      return !(opts.missing ?? []).includes(path);
    },
    async isFile(path) {
      asked.push(`file ${path}`);
      return !(opts.missing ?? []).includes(path);
    },
    async portFree(address, port, proto) {
      asked.push(`port ${proto} ${address}:${port}`);
      return !(opts.busy ?? []).includes(port);
    },
  };
}

export function baseInput(over: Record<string, unknown> = {}) {
  return { vm: "dev", kernel: { ...KERNEL }, qemu: { ...QEMU }, closure: { ...CLOSURE }, ...over } as never;
}

/** The host's Debian QEMU as a manifest (integration tests and the benchmark boot real guests with it). */
export const HOST_QEMU: QemuManifest = {
  kind: "qemu",
  method: "make",
  qemu_binary: "/usr/bin/qemu-system-x86_64",
  version: "7.2.0",
  target_list: "x86_64-softmmu",
  commit: "",
  ref: "debian",
  destdir: "/usr",
  identity: "000000000000",
  label: "debian",
  store_path: null,
  store_key: "qemu-7.2.0-debian-000000000000",
  firmware_dirs: ["/usr/share/seabios", "/usr/lib/ipxe/qemu", "/usr/share/qemu"],
  qemu_img: "/usr/bin/qemu-img",
  reused: true,
  built_at: "2026-01-01T00:00:00Z",
};
