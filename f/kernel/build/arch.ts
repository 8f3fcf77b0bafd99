// Kernel architectures as data: what make calls each one, where its image lands, what
// it installs as, and the cross prefix it needs on another host. Adding an architecture
// is adding a row here. Pure.

import type { Compiler } from "../../common/pipeline/fields.ts";

export const ARCHES = ["x86_64", "arm64"] as const;
export type Arch = (typeof ARCHES)[number];

export interface ArchSpec {
  /** ARCH= for make. */
  makeArch: string;
  /** The folder under arch/. */
  srcArch: string;
  /** The image target and where make leaves it, relative to the build dir. */
  imageTarget: string;
  imagePath: string;
  /** The file name under destdir/boot/ (the release is appended). */
  installName: string;
  /** CROSS_COMPILE= when the host is another architecture, and the gcc it implies. */
  crossCompile: string | null;
  /** The machine this architecture is native on (process.arch names). */
  nativeOn: string;
}

export const ARCH_SPECS: Record<Arch, ArchSpec> = {
  x86_64: { makeArch: "x86_64", srcArch: "x86", imageTarget: "bzImage", imagePath: "arch/x86/boot/bzImage", installName: "vmlinuz", crossCompile: "x86_64-linux-gnu-", nativeOn: "x64" },
  arm64: { makeArch: "arm64", srcArch: "arm64", imageTarget: "Image", imagePath: "arch/arm64/boot/Image", installName: "Image", crossCompile: "aarch64-linux-gnu-", nativeOn: "arm64" },
};

/** The cross prefix an arch needs on this host, or null when it is native. */
export function crossPrefix(arch: Arch, hostArch: string = process.arch): string | null {
  const spec = ARCH_SPECS[arch];
  return spec.nativeOn === hostArch ? null : spec.crossCompile;
}

/** The compiler binary whose presence decides whether an arch can be built. */
export function toolchainProbe(arch: Arch, compiler: Compiler, hostArch: string = process.arch): string {
  if (compiler === "clang") return "clang";
  const cross = crossPrefix(arch, hostArch);
  return `${cross ?? ""}gcc`;
}
