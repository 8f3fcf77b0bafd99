// Step 2 of f/nix/build: `nix flake lock` the per-VM config. `update_lock` re-pins the
// library input (Nix 2.8: `nix flake lock --update-input`; Nix 2.19 and later:
// `nix flake update --flake ... nixos-flake`). A library whose files changed since the
// lock pinned it is reported (see lockfile.ts): the pin is kept unless update_lock.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";
import { withLock } from "../../common/lock.ts";
import { nixArgv, nixVersion, resolveFlake, updateInputArgs } from "../../common/nix.ts";
import { setProgress } from "../../common/progress.ts";
import { run } from "../../common/run.ts";
import { checkConfigDir, configFlakeRef } from "./config_dir.ts";
import { libraryDir, libraryNarHash } from "./library.ts";
import { decideLock, LIBRARY_INPUT, libraryPin } from "./lockfile.ts";
import { configLockPath } from "./plan.ts";

export async function main(config_dir: string, nixos_flake: string = "", update_lock: boolean = false) {
  const dir = checkConfigDir(config_dir);
  const library = resolveFlake(nixos_flake);
  if (typeof update_lock !== "boolean") throw new InputError("update_lock", "true or false", update_lock);
  const lockPath = join(dir, "flake.lock");
  const flakeRef = configFlakeRef(dir);

  return withLock(configLockPath(dir), { what: `the NixOS config in ${dir}` }, async () => {
    const before = await readFile(lockPath, "utf8").catch(() => null);
    const pin = before === null ? null : libraryPin(before);
    // The stale-pin check must not stop the lock: when the library cannot be hashed
    // (not there, not readable), nix flake lock below reports the real problem.
    const current = await libraryNarHash(library).catch((err: Error) => {
      console.warn(`lock_config: cannot check the library pin against ${library}: ${err.message.split("\n")[0]}`);
      return null;
    });
    const decision = decideLock(pin, current, libraryDir(library), update_lock);
    (decision.stale ? console.warn : console.log)(`lock_config: ${decision.note}`);

    const argv = decision.action === "update" ? nixArgv(updateInputArgs(await nixVersion(), flakeRef, LIBRARY_INPUT)) : nixArgv(["flake", "lock", flakeRef]);
    await run(argv);

    const after = await readFile(lockPath, "utf8");
    const newPin = libraryPin(after);
    await setProgress(100, "locked");
    return {
      config_dir: dir,
      lock_file: lockPath,
      action: decision.action,
      changed: before !== after,
      library_stale: decision.stale,
      library_pinned: newPin?.narHash ?? null,
      library_current: current,
      note: decision.note,
    };
  });
}
