// install: `make install` in build/ into the install prefix
// (destdir/<version>-<label>-<identity>, user-writable, no sudo), then the as-built
// manifest: the emulator, qemu-img, and the folders the guest finds firmware in. When
// configure found the identity published, it returns the published manifest instead.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { devshellSpec, runInDevshell } from "../../common/devshell/nix_develop.ts";
import { setProgress } from "../../common/progress.ts";
import { firmwareDirs, HOST_FIRMWARE_DIRS, makeManifest, parseConfigured, PC_BIOS_FILES } from "./plan.ts";

export async function main(configured: object, nixos_flake: string = "") {
  const c = parseConfigured(configured);
  if (c.reused && c.manifest) return { installed: false, manifest: c.manifest };
  await setProgress(91, "make install");
  await runInDevshell(devshellSpec(nixos_flake), ["make", "install"], { cwd: c.build_dir, env: c.ccache_env });
  const dataDir = join(c.prefix, "share", "qemu");
  const manifest = makeManifest(c, {
    firmwareDirs: firmwareDirs({
      installDataDir: dataDir,
      installHasBios: PC_BIOS_FILES.some((f) => existsSync(join(dataDir, f))),
      hostDirs: HOST_FIRMWARE_DIRS.filter((d) => existsSync(d)),
    }),
    hasQemuImg: existsSync(join(c.prefix, "bin", "qemu-img")),
    builtAt: new Date().toISOString(),
  });
  if (!existsSync(manifest.qemu_binary)) throw new Error(`make install put no ${manifest.qemu_binary}`);
  await setProgress(95, "installed");
  return { installed: true, manifest };
}
