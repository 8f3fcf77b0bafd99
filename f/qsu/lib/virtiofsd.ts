// virtiofsd: which one is installed and how to call it. There are two: the Rust
// virtiofsd (`--shared-dir DIR`, the maintained one) and the C one QEMU shipped until
// 8.0 (`-o source=DIR`; Debian's is /usr/lib/qemu/virtiofsd). Both serve one
// vhost-user connection on a unix socket and exit when QEMU goes away.

import { access, constants } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Env } from "../../common/layout.ts";
import { run } from "../../common/run.ts";

export type VirtiofsdFlavor = "rust" | "c";

export interface Virtiofsd {
  binary: string;
  flavor: VirtiofsdFlavor;
}

/** Decide the flavor from `--help` output; null when it is neither. */
export function virtiofsdFlavor(helpText: string): VirtiofsdFlavor | null {
  if (/--shared-dir\b/.test(helpText)) return "rust";
  if (/-o\s+source=|\bsource=PATH\b|\bsource=<?dir/i.test(helpText)) return "c";
  return null;
}

export function virtiofsdArgv(d: Virtiofsd, socket: string, source: string, readonly: boolean): string[] {
  if (d.flavor === "rust") {
    return [d.binary, `--socket-path=${socket}`, `--shared-dir=${source}`, "--cache=auto", ...(readonly ? ["--readonly"] : [])];
  }
  // The C virtiofsd has no read-only mode: the guest mounts the share read-only instead.
  // Its option values are split on ',' like QEMU's, so a comma in the folder is doubled.
  return [d.binary, `--socket-path=${socket}`, "-o", `source=${source.replace(/,/g, ",,")}`, "-o", "cache=auto"];
}

/** Where to look, in order: an explicit path, KDEVFLOW_VIRTIOFSD, beside the QEMU build, then the usual places. */
export function virtiofsdCandidates(qemuBinary: string, env: Env, explicit?: string | null): string[] {
  if (explicit) return [explicit];
  if (env.KDEVFLOW_VIRTIOFSD) return [env.KDEVFLOW_VIRTIOFSD];
  const fromPath = (env.PATH ?? "").split(":").filter(Boolean).map((d) => join(d, "virtiofsd"));
  return [join(dirname(qemuBinary), "..", "libexec", "virtiofsd"), ...fromPath, "/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"];
}

/** Find an executable virtiofsd and ask it which flavor it is. */
export async function detectVirtiofsd(candidates: string[]): Promise<Virtiofsd | null> {
  for (const binary of candidates) {
    try {
      await access(binary, constants.X_OK);
    } catch {
      continue;
    }
    const res = await run([binary, "--help"], { capture: true, quiet: true, allowFailure: true, timeoutMs: 10_000 });
    const flavor = virtiofsdFlavor(`${res.stdout}\n${res.stderr}`);
    if (flavor) return { binary, flavor };
  }
  return null;
}
