// The KVM probe with the real QEMU: its firmware reaches 64-bit code under TCG (so a
// "no" under KVM means KVM, not the probe), a firmware that never gets there is a "no",
// and kvmUsable answers within the probe's time limit and caches the answer.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../f/common/run.ts";
import { kvmUsable, probeArgv, PROBE_EXIT_STATUS, PROBE_TIMEOUT_MS, runProbe } from "../../f/qsu/lib/kvm.ts";

const QEMU = "/usr/bin/qemu-system-x86_64";

describe("KVM probe", () => {
  it("reaches 64-bit mode and exits with the probe status under TCG", async () => {
    expect(await runProbe(QEMU, "tcg")).toBe(true);
  });

  it("a firmware that only halts is not counted as working", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-probe-"));
    try {
      const fw = join(dir, "halt.bin");
      await writeFile(fw, new Uint8Array(65536).fill(0xf4));
      const res = await run(probeArgv(QEMU, fw, "tcg"), { capture: true, quiet: true, allowFailure: true, timeoutMs: 2000 });
      expect(res.exitCode).not.toBe(PROBE_EXIT_STATUS);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("kvmUsable answers within the time limit and caches the answer per binary", async () => {
    const cache = await mkdtemp(join(tmpdir(), "kdevflow-probe-cache-"));
    try {
      const started = Date.now();
      const works = await kvmUsable(QEMU, cache);
      expect(Date.now() - started).toBeLessThan(PROBE_TIMEOUT_MS + 5000);
      const cached = JSON.parse(await readFile(join(cache, "kvm-probe.json"), "utf8").catch(() => "{}")) as Record<string, boolean>;
      const entries = Object.entries(cached).filter(([k]) => k.startsWith(`${QEMU}@`));
      // no /dev/kvm at all: answered without probing, nothing cached
      expect(entries.length === 0 ? works : entries[0]![1]).toBe(works);
      if (entries.length) expect(await kvmUsable(QEMU, cache)).toBe(works);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
