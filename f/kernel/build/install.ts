// install: the kernel image, System.map and .config into destdir/boot/ (named with the
// kernelrelease, as distributions do), and modules_install into destdir when the config
// has modules; then the as-built manifest, which publish puts into the Store. destdir is
// emptied first, so it holds exactly this build. The build and source links
// modules_install leaves point into the worktree, which the next build changes; they are
// removed so the published tree stands alone. Skipped when identify reuses a build.

import { copyFile, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { readResult } from "../../common/inputs.ts";
import { KernelManifest } from "../../common/manifest.ts";
import { identifiedSchema, readStepContext } from "../../common/pipeline/project.ts";
import { setProgress } from "../../common/progress.ts";
import { ARCH_SPECS } from "./arch.ts";
import { parseConfig } from "./config.ts";
import { compileCommandsPath } from "./devtools.ts";
import { Inputs } from "./inputs.ts";
import { headOf, kernelMake, runMake } from "./kbuild.ts";
import { configPath } from "./project.ts";
import { releaseOf } from "./compile.ts";

export async function main(checked: object, worktree: object, identify: object) {
  const { inputs, toolchain, source, wt } = readStepContext(Inputs, checked, worktree);
  const id = readResult(identifiedSchema(KernelManifest), identify, "identify's result");
  const { kernelrelease, localversion } = releaseOf(identify);
  const spec = ARCH_SPECS[inputs.arch];
  const destdir = wt.destdir;
  for (const entry of await readdir(destdir).catch(() => [] as string[])) await rm(join(destdir, entry), { recursive: true, force: true });
  const boot = join(destdir, "boot");
  await mkdir(boot, { recursive: true });
  const image = join(boot, `${spec.installName}-${kernelrelease}`);
  await copyFile(join(wt.build_dir, spec.imagePath), image);
  await copyFile(join(wt.build_dir, "System.map"), join(boot, `System.map-${kernelrelease}`));
  const config = join(boot, `config-${kernelrelease}`);
  await copyFile(configPath(wt.build_dir), config);
  const head = await headOf(wt.worktree);
  let modulesDir: string | null = null;
  if (parseConfig(await readFile(config, "utf8")).get("MODULES") === "y") {
    await setProgress(40, "modules_install");
    const k = await kernelMake(inputs, toolchain, wt, { localversion, commit: head.commit });
    await runMake(k, [`INSTALL_MOD_PATH=${destdir}`, "modules_install"]);
    modulesDir = join(destdir, "lib", "modules", kernelrelease);
    for (const link of ["build", "source"]) await rm(join(modulesDir, link), { force: true });
  }
  await setProgress(100, `installed into ${destdir}`);
  return KernelManifest.parse({
    kind: "kernel",
    image,
    modules_dir: modulesDir,
    kernelrelease,
    version: id.version,
    identity: id.identity,
    label: id.label,
    commit: head.commit,
    ref: source.ref,
    config,
    config_method: inputs.config_method,
    arch: inputs.arch,
    compiler: inputs.compiler,
    compile_commands: inputs.compile_commands ? compileCommandsPath(wt.worktree) : null,
    destdir,
    store_path: null,
    store_key: id.store_key,
    worktree: wt.worktree,
    b4_series: inputs.b4_series || null,
    reused: false,
    built_at: new Date().toISOString(),
  });
}
