// install: the kernel image, System.map and .config into destdir/boot/ (named with the
// kernelrelease, as distributions do), and modules_install into destdir when the config
// has modules. destdir is emptied first, so it holds exactly this build. The build and
// source links modules_install leaves point into the worktree, which the next build
// changes; they are removed so the published tree stands alone.

import { copyFile, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setProgress } from "../../common/progress.ts";
import { kernelContext, runMake } from "./kbuild.ts";
import { ARCH_SPECS, parseConfig } from "./plan.ts";

export async function main(
  worktree: string,
  build_dir: string,
  destdir: string,
  commit: string,
  kernelrelease: string,
  localversion: string,
  arch: "x86_64" | "arm64" = "x86_64",
  compiler: "gcc" | "clang" = "gcc",
  ccache: boolean = true,
  ccache_max_size: string = "10G",
  make_args: string = "",
  reproducible: boolean = true,
  nixos_flake: string = "",
) {
  const spec = ARCH_SPECS[arch];
  for (const entry of await readdir(destdir).catch(() => [] as string[])) await rm(join(destdir, entry), { recursive: true, force: true });
  const boot = join(destdir, "boot");
  await mkdir(boot, { recursive: true });
  const image = join(boot, `${spec.installName}-${kernelrelease}`);
  await copyFile(join(build_dir, spec.imagePath), image);
  await copyFile(join(build_dir, "System.map"), join(boot, `System.map-${kernelrelease}`));
  const config = join(boot, `config-${kernelrelease}`);
  await copyFile(join(build_dir, ".config"), config);
  let modulesDir: string | null = null;
  if (parseConfig(await readFile(config, "utf8")).get("MODULES") === "y") {
    await setProgress(40, "modules_install");
    const ctx = await kernelContext({ worktree, build_dir, arch, compiler, ccache, ccache_max_size, make_args, nixos_flake, localversion, reproducible, commit });
    await runMake(ctx, [`INSTALL_MOD_PATH=${destdir}`, "modules_install"]);
    modulesDir = join(destdir, "lib", "modules", kernelrelease);
    for (const link of ["build", "source"]) await rm(join(modulesDir, link), { force: true });
  }
  await setProgress(100, `installed into ${destdir}`);
  return { image, config, system_map: join(boot, `System.map-${kernelrelease}`), modules_dir: modulesDir, destdir };
}
