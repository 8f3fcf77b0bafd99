// Run commands inside the build dev shell: `nix develop <flake>#build --command ...`.
// The flake comes from an input, else KDEVFLOW_NIXOS_FLAKE, else path:/vendor/nixos-flake.
// The shell's derivation path names the whole toolchain, so it goes into every build
// identity: a new compiler in the shell is a new identity.

import { capture, run, type RunOptions, type RunResult } from "../run.ts";
import { nixArgv, nixOptionsFromEnv, nixSystem, resolveFlake, type NixOptions } from "../nix.ts";

export const DEVSHELL_NAME = "build";

export interface DevshellSpec {
  flake: string;
  options?: NixOptions;
}

export function devshellSpec(flakeInput?: string | null): DevshellSpec {
  return { flake: resolveFlake(flakeInput), options: nixOptionsFromEnv() };
}

/** The argument vector that runs `argv` inside the dev shell. */
export function devshellArgv(spec: DevshellSpec, argv: readonly string[]): string[] {
  return nixArgv(["develop", `${spec.flake}#${DEVSHELL_NAME}`, "--command", ...argv], spec.options);
}

export function runInDevshell(spec: DevshellSpec, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(devshellArgv(spec, argv), opts);
}

export function devshellDrvAttr(spec: DevshellSpec, system: string = nixSystem()): string {
  return `${spec.flake}#devShells.${system}.${DEVSHELL_NAME}.drvPath`;
}

const drvCache = new Map<string, Promise<string>>();

/** The dev shell's derivation path (/nix/store/...-build.drv). */
export function devshellDrvPath(spec: DevshellSpec): Promise<string> {
  const key = `${spec.flake}\0${JSON.stringify(spec.options ?? {})}`;
  let found = drvCache.get(key);
  if (!found) {
    found = capture(nixArgv(["eval", "--raw", devshellDrvAttr(spec)], spec.options)).then((out) => {
      if (!/^\/nix\/store\/[^/]+\.drv$/.test(out)) throw new Error(`unexpected dev shell derivation path: ${out}`);
      return out;
    });
    drvCache.set(key, found);
    found.catch(() => drvCache.delete(key));
  }
  return found;
}
