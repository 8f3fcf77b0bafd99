// Is KVM usable? /dev/kvm existing proves nothing: on some hosts (nested guests without
// full VMX support) a KVM guest runs real-mode firmware fine and then hangs as soon as
// it enters 64-bit mode, before the kernel prints a line. So the probe boots a tiny
// firmware of our own that switches to long mode and writes to QEMU's isa-debug-exit
// port; QEMU then exits with status (0x31 << 1) | 1 = 99. Only that exit, within a few
// seconds, counts as "KVM works". Anything else (no /dev/kvm, no permission, a hang, a
// crash) means TCG. The answer is cached per QEMU binary under XDG_RUNTIME_DIR, which
// is emptied at reboot (when the answer may change).

import { access, constants, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeJsonAtomic } from "../../common/atomic.ts";
import { run } from "../../common/run.ts";

export const PROBE_EXIT_STATUS = 99;
export const PROBE_TIMEOUT_MS = 4000;

/**
 * A 64 KiB BIOS image. The reset vector jumps to F000:0000, which loads a GDT with one
 * 64-bit code segment, builds identity page tables for the first 2 MiB at 0x1000-0x3fff,
 * enables PAE, EFER.LME, paging and protection, far-jumps into 64-bit code, and there
 * writes 0x31 to port 0xf4.
 */
export function probeFirmware(): Uint8Array {
  const img = new Uint8Array(65536).fill(0xf4); // hlt everywhere
  const code: number[] = [];
  const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
  const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  code.push(0xfa); // cli
  code.push(0x2e, 0x0f, 0x01, 0x16, ...u16(0x100)); // lgdt cs:[0x100]
  code.push(0x31, 0xc0, 0x8e, 0xc0); // xor ax,ax; mov es,ax
  for (const [addr, val] of [
    [0x1000, 0x2003], // PML4[0] -> PDPT
    [0x2000, 0x3003], // PDPT[0] -> PD
    [0x3000, 0x0083], // PD[0]: 2 MiB page at 0
  ] as const) {
    code.push(0x26, 0x66, 0xc7, 0x06, ...u16(addr), ...u32(val)); // mov dword [es:addr], val
  }
  code.push(0x0f, 0x20, 0xe0, 0x66, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0); // cr4 |= PAE
  code.push(0x66, 0xb8, ...u32(0x1000), 0x0f, 0x22, 0xd8); // cr3 = 0x1000
  code.push(0x66, 0xb9, ...u32(0xc0000080), 0x0f, 0x32, 0x66, 0x0d, ...u32(0x100), 0x0f, 0x30); // EFER.LME
  code.push(0x0f, 0x20, 0xc0, 0x66, 0x0d, ...u32(0x80000001), 0x0f, 0x22, 0xc0); // cr0 |= PG|PE
  const target = code.length + 8;
  code.push(0x66, 0xea, ...u32(0xf0000 + target), ...u16(0x08)); // jmp dword 0x08:target
  code.push(0xb0, 0x31, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd); // mov al,0x31; out 0xf4,al; hlt; jmp $-1
  img.set(code, 0);
  img.set([...u16(15), ...u32(0xf0110)], 0x100); // GDTR: limit, base
  img.set([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9a, 0xaf, 0], 0x110); // null, 64-bit code
  img.set([0xea, 0x00, 0x00, 0x00, 0xf0], 65536 - 16); // reset vector: jmp far F000:0000
  return img;
}

export function probeArgv(qemuBinary: string, firmware: string, accel: "kvm" | "tcg"): string[] {
  return [qemuBinary, "-nodefaults", "-no-user-config", "-display", "none", "-serial", "none", "-monitor", "none", "-m", "16", "-accel", accel, "-bios", firmware, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"];
}

/** Run the probe with one accelerator: true when the guest reached 64-bit code. */
export async function runProbe(qemuBinary: string, accel: "kvm" | "tcg"): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), "kdevflow-kvm-probe-"));
  try {
    const fw = join(dir, "probe.bin");
    await writeFile(fw, probeFirmware());
    const res = await run(probeArgv(qemuBinary, fw, accel), { capture: true, quiet: true, allowFailure: true, timeoutMs: PROBE_TIMEOUT_MS });
    return res.exitCode === PROBE_EXIT_STATUS;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** KVM usable for this QEMU? Cached in `cacheDir` per binary and its modification time. */
export async function kvmUsable(qemuBinary: string, cacheDir: string | null): Promise<boolean> {
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  const mtime = (await stat(qemuBinary)).mtimeMs;
  const key = `${qemuBinary}@${mtime}`;
  const cacheFile = cacheDir ? join(cacheDir, "kvm-probe.json") : null;
  if (cacheFile) {
    try {
      const cached = JSON.parse(await readFile(cacheFile, "utf8")) as Record<string, boolean>;
      if (typeof cached[key] === "boolean") return cached[key]!;
    } catch {
      /* no cache yet */
    }
  }
  const works = await runProbe(qemuBinary, "kvm");
  console.log(`kvm probe: a 64-bit guest ${works ? "ran" : "did not run"} under KVM with ${qemuBinary}; using ${works ? "kvm" : "tcg"}`);
  if (cacheFile) {
    let cached: Record<string, boolean> = {};
    try {
      cached = JSON.parse(await readFile(cacheFile, "utf8"));
    } catch {
      /* first entry */
    }
    await writeJsonAtomic(cacheFile, { ...cached, [key]: works });
  }
  return works;
}
