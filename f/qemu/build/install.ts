// install: `make install` in build/ into the install prefix identify named
// (destdir/<version>-<label>-<identity>, user-writable, no sudo), then the as-built
// manifest: the emulator, qemu-img, and the folders the guest finds firmware in; publish
// puts it into the Store. Skipped when identify reuses a published build.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { runInDevshell } from "../../common/devshell/nix_develop.ts";
import { readResult } from "../../common/inputs.ts";
import { QemuManifest } from "../../common/manifest.ts";
import { identifiedSchema, readStepContext } from "../../common/pipeline/project.ts";
import { shellOf } from "../../common/pipeline/toolchain.ts";
import { setProgress } from "../../common/progress.ts";
import { prefixOf } from "./configure.ts";
import { Inputs } from "./inputs.ts";
import { firmwareDirs, HOST_FIRMWARE_DIRS, makeManifest, PC_BIOS_FILES } from "./plan.ts";

export async function main(checked: object, worktree: object, identify: object) {
  const { inputs, toolchain, source, wt } = readStepContext(Inputs, checked, worktree);
  const id = readResult(identifiedSchema(QemuManifest), identify, "identify's result");
  const prefix = prefixOf(identify);
  await setProgress(10, "make install");
  await runInDevshell(shellOf(toolchain), ["make", "install"], { cwd: wt.build_dir, env: toolchain.ccache_env });
  const dataDir = join(prefix, "share", "qemu");
  const manifest = makeManifest({
    prefix,
    targets: inputs.target_list,
    version: id.version,
    commit: wt.commit,
    ref: source.ref,
    identity: id.identity,
    label: id.label,
    store_key: id.store_key,
    firmwareDirs: firmwareDirs({
      installDataDir: dataDir,
      installHasBios: PC_BIOS_FILES.some((f) => existsSync(join(dataDir, f))),
      hostDirs: HOST_FIRMWARE_DIRS.filter((d) => existsSync(d)),
    }),
    hasQemuImg: existsSync(join(prefix, "bin", "qemu-img")),
    builtAt: new Date().toISOString(),
  });
  if (!existsSync(manifest.qemu_binary)) throw new Error(`make install put no ${manifest.qemu_binary}`);
  await setProgress(100, "installed");
  return QemuManifest.parse(manifest);
}
