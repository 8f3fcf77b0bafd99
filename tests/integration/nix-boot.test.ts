// A real boot of the test library's closure: QEMU (TCG) with an external kernel, the
// closure's initrd, /nix/store and /lib/modules over virtiofs (Debian's C virtiofsd), and
// one user share. It proves the closure f/nix/build returns is bootable, the way the boot
// flow will boot it.
//
// It needs a kernel with VIRTIO_PCI, VIRTIO_FS, FUSE_FS, TMPFS, DEVTMPFS, BLK_DEV_INITRD,
// RD_GZIP, BINFMT_SCRIPT, SERIAL_8250_CONSOLE and ACPI built in: the project's test kernel
// (tests/harness/kernel.ts, built by f/kernel/build or reused from the Store), or the
// bzImage KDEVFLOW_TEST_BZIMAGE names.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main as buildClosure } from "../../f/nix/build/build_closure.ts";
import { main as lockConfig } from "../../f/nix/build/lock_config.ts";
import { main as renderConfig } from "../../f/nix/build/render_config.ts";
import { bzImageRelease, testKernel } from "../harness/kernel.ts";
import { testFlakes } from "../harness/flakes.ts";
import { useWorkbenchEnv } from "../harness/env.ts";
import { setupNixEnv } from "../harness/nix.ts";
import { suiteSetup } from "../harness/suite.ts";

const BZIMAGE = process.env.KDEVFLOW_TEST_BZIMAGE ?? "";
const VIRTIOFSD = "/usr/lib/qemu/virtiofsd";

function startVirtiofsd(socket: string, source: string): ChildProcess {
  return spawn(VIRTIOFSD, [`--socket-path=${socket}`, "-o", `source=${source}`, "-o", "cache=auto"], { stdio: "ignore" });
}

async function waitFor(path: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let root: string;
let restoreEnv: (() => void) | undefined;

// The test awaits ready(): a failed setup fails it (tests/harness/suite.ts).
const ready = suiteSetup(async () => {
  await setupNixEnv();
  root = mkdtempSync(join(tmpdir(), "kdevflow-nix-boot-"));
  restoreEnv = useWorkbenchEnv(join(root, "wb"));
});

afterAll(() => {
  restoreEnv?.();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("booting the closure", () => {
  it("boots it with the test kernel (or KDEVFLOW_TEST_BZIMAGE)", { timeout: 1_800_000 }, async () => {
    await ready();
    const image = BZIMAGE || (await testKernel()).image;
    const release = bzImageRelease(readFileSync(image));
    const modules = join(root, "modules");
    mkdirSync(join(modules, release, "kernel"), { recursive: true });
    writeFileSync(join(modules, release, "modules.dep"), "");
    const shared = join(root, "shared");
    mkdirSync(shared);

    const rendered = await renderConfig({ vm: "guest", nixos_flake: (await testFlakes()).library, profiles: ["devel"], test_suites: [], shares: [{ source: shared, target: "/mnt/shared", tag: "shared" }], hostname: "guest-1" });
    await lockConfig(rendered.config_dir, rendered.nixos_flake, false);
    const closure = await buildClosure(rendered.config_dir);

    const sockets = { store: join(root, "store.sock"), modules: join(root, "modules.sock"), shared: join(root, "shared.sock") };
    const daemons = [
      startVirtiofsd(sockets.store, "/nix/store"),
      startVirtiofsd(sockets.modules, modules),
      startVirtiofsd(sockets.shared, shared),
    ];
    try {
      for (const s of Object.values(sockets)) await waitFor(s, 5000);
      const devices = Object.entries(sockets).flatMap(([tag, path], i) => [
        "-chardev",
        `socket,id=fs${i},path=${path}`,
        "-device",
        `vhost-user-fs-pci,chardev=fs${i},tag=${tag}`,
      ]);
      const qemu = spawn(
        "qemu-system-x86_64",
        [
          ...["-accel", "tcg", "-m", "256", "-smp", "1", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio"],
          ...["-object", "memory-backend-memfd,id=mem,size=256M,share=on", "-numa", "node,memdev=mem"],
          ...devices,
          // The library's boot contract, and kdevflow.oneshot: the test guest powers off after its markers.
          ...["-kernel", image, "-initrd", closure.initrd, "-append", ["root=tmpfs", "console=ttyS0,115200", "console=hvc0", ...closure.kernel_params, `init=${closure.init}`, "kdevflow.oneshot"].join(" ")],
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let console_ = "";
      qemu.stdout!.on("data", (d) => (console_ += d));
      qemu.stderr!.on("data", (d) => (console_ += d));
      const code = await new Promise<number | null>((done) => {
        const timer = setTimeout(() => qemu.kill("SIGKILL"), 120_000);
        qemu.on("close", (c) => {
          clearTimeout(timer);
          done(c);
        });
      });
      expect(console_).toContain("kdevflow-initrd: mounted /nix/store from the virtiofs tag 'store'");
      expect(console_).toContain("kdevflow-initrd: mounted /lib/modules from the virtiofs tag 'modules'");
      expect(console_).toContain(`KDEVFLOW-GUEST-UP release=${release} hostname=guest-1`);
      expect(console_).toMatch(new RegExp(`KDEVFLOW-GUEST-MODULES begin /lib/modules/${release.replace(/[.+]/g, "\\$&")}\\r?\\n.*kernel.*modules\\.dep.*\\r?\\nKDEVFLOW-GUEST-MODULES end`));
      expect(console_).toContain("KDEVFLOW-GUEST-SHARE tag=shared target=/mnt/shared options=defaults");
      expect(console_).toContain("KDEVFLOW-GUEST-DONE");
      expect(console_).toContain("reboot: Power down");
      expect(code, console_.slice(-3000)).toBe(0);
    } finally {
      for (const d of daemons) d.kill();
    }
  });
});
