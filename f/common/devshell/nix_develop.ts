// Run commands inside a build shell of the nixos-flake library:
// `nix develop <flake>#<shell> --command ...`. The library names its shells by what they
// build (`build-kernel`, `build-qemu`; its flake.nix, devShells); older libraries and the
// seeds call the one shell `build`. The flake comes from an input, else
// KDEVFLOW_NIXOS_FLAKE, else the default library. The shell's derivation path names the
// whole toolchain, so it goes into every build identity: a new compiler in the shell is a
// new identity.

import { InputError } from "../errors.ts";
import { choiceList } from "../inputs.ts";
import { capture, run, type RunOptions, type RunResult } from "../run.ts";
import { nixArgv, nixOptionsFromEnv, nixSystem, resolveFlake, type NixOptions } from "../nix.ts";

/** The shell name the seeds use, and what a library with one shell offers. */
export const FALLBACK_SHELL = "build";

export interface DevshellSpec {
  flake: string;
  /** The attribute under devShells.<system>. */
  shell: string;
  options?: NixOptions;
}

export function devshellSpec(flakeInput: string | null | undefined, shell: string): DevshellSpec {
  return { flake: resolveFlake(flakeInput), shell, options: nixOptionsFromEnv() };
}

/**
 * Which shell to build in, from the shells the library has: the one asked for, else the
 * project's preferred one, else `build`. Pure; an InputError names the shells there are.
 */
export function chooseDevshell(available: readonly string[], requested: string, preferred: string, field = "devshell"): string {
  const has = (s: string) => available.includes(s);
  const listed = available.length ? `one of the library's shells: ${choiceList(available)}` : "a library that has dev shells (this one has none)";
  if (requested) {
    if (has(requested)) return requested;
    throw new InputError(field, listed, requested);
  }
  if (has(preferred)) return preferred;
  if (has(FALLBACK_SHELL)) return FALLBACK_SHELL;
  throw new InputError(field, `a library with a ${preferred} or ${FALLBACK_SHELL} shell, or the name of another (${listed.replace(/^one of /, "")})`, "");
}

/** The names under devShells.<system> of a flake. */
export async function listDevshells(flake: string, options: NixOptions = nixOptionsFromEnv(), system: string = nixSystem()): Promise<string[]> {
  const out = await capture(nixArgv(["eval", "--json", `${flake}#devShells.${system}`, "--apply", "builtins.attrNames"], options));
  const names = JSON.parse(out) as unknown;
  if (!Array.isArray(names)) throw new Error(`nix eval of ${flake}#devShells.${system} gave ${out.slice(0, 200)}`);
  return names.map(String);
}

/** The argument vector that runs `argv` inside the dev shell. */
export function devshellArgv(spec: DevshellSpec, argv: readonly string[]): string[] {
  return nixArgv(["develop", `${spec.flake}#${spec.shell}`, "--command", ...argv], spec.options);
}

export function runInDevshell(spec: DevshellSpec, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(devshellArgv(spec, argv), opts);
}

export function devshellDrvAttr(spec: DevshellSpec, system: string = nixSystem()): string {
  return `${spec.flake}#devShells.${system}.${spec.shell}.drvPath`;
}

const drvCache = new Map<string, Promise<string>>();

/** The dev shell's derivation path (/nix/store/...-<name>.drv). */
export function devshellDrvPath(spec: DevshellSpec): Promise<string> {
  const key = `${spec.flake}\0${spec.shell}\0${JSON.stringify(spec.options ?? {})}`;
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
