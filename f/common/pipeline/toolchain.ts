// The toolchain of one build, decided once by the first step and handed to every later
// step as one object: the library and its build shell (and that shell's derivation,
// which goes into the identity), the ccache environment and the job count. One rule for
// ccache in both projects: the cache is SYSTEM_DIR/ccache (or KDEVFLOW_CCACHE_DIR), its
// base_dir is WORKERS_DIR, so every slot and shared tree hits the same entries, and every
// setting travels in the environment (which beats ccache.conf); the file is written
// once per build, by configure, for people who run ccache by hand.

import { availableParallelism } from "node:os";
import { z } from "zod";
import { CCACHE_SLOPPINESS, ccacheDirFor, writeCcacheConf } from "../devshell/ccache.ts";
import { chooseDevshell, devshellDrvPath, listDevshells, type DevshellSpec } from "../devshell/nix_develop.ts";
import { workbenchLayout, type WorkbenchLayout } from "../layout.ts";
import { nixOptionsFromEnv, resolveFlake } from "../nix.ts";

export const Toolchain = z.object({
  flake: z.string().min(1),
  shell: z.string().min(1),
  options: z.record(z.string(), z.string()),
  /** The build shell's derivation path: the toolchain's part of the identity. */
  drv: z.string().regex(/^\/nix\/store\/[^/]+\.drv$/),
  ccache: z.boolean(),
  /** CCACHE_* variables every compiling command gets. */
  ccache_env: z.record(z.string(), z.string()),
  jobs: z.number().int().min(1),
});
export type Toolchain = z.infer<typeof Toolchain>;

export interface ToolchainInputs {
  nixos_flake: string;
  devshell: string;
  ccache: boolean;
  ccache_max_size: string;
}

/** The ccache environment of a build. Pure. */
export function ccacheEnv(layout: WorkbenchLayout, cacheDir: string, ccache: boolean, maxSize: string): Record<string, string> {
  if (!ccache) return { CCACHE_DISABLE: "1" };
  return { CCACHE_DIR: cacheDir, CCACHE_BASEDIR: layout.workersDir, CCACHE_MAXSIZE: maxSize, CCACHE_COMPILERCHECK: "content", CCACHE_SLOPPINESS };
}

/** Resolve the library, pick its build shell (preferred, else `build`) and read the shell's derivation. Reads only. */
export async function resolveToolchain(i: ToolchainInputs, preferredShell: string, layout: WorkbenchLayout = workbenchLayout()): Promise<Toolchain> {
  const flake = resolveFlake(i.nixos_flake);
  const options = nixOptionsFromEnv();
  const shell = chooseDevshell(await listDevshells(flake, options), i.devshell, preferredShell);
  const spec: DevshellSpec = { flake, shell, options };
  return {
    flake,
    shell,
    options,
    drv: await devshellDrvPath(spec),
    ccache: i.ccache,
    ccache_env: ccacheEnv(layout, ccacheDirFor(layout), i.ccache, i.ccache_max_size),
    jobs: availableParallelism(),
  };
}

export function shellOf(t: Toolchain): DevshellSpec {
  return { flake: t.flake, shell: t.shell, options: t.options };
}

/** Write SYSTEM_DIR/ccache/ccache.conf to match the environment (once per build, from configure). */
export async function writeCcacheConfFor(t: Toolchain, layout: WorkbenchLayout = workbenchLayout()): Promise<void> {
  if (!t.ccache) return;
  await writeCcacheConf({ cacheDir: t.ccache_env.CCACHE_DIR!, maxSize: t.ccache_env.CCACHE_MAXSIZE!, baseDir: layout.workersDir });
}
