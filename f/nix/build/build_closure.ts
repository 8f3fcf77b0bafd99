// Step 3 of f/nix/build: `nix build path:<config_dir>#toplevel` and read init and initrd
// from the closure's bootspec ($toplevel/boot.json, org.nixos.bootspec.v1). The result
// link <config_dir>/result keeps the closure from the garbage collector while a guest
// may boot it. Returns the ClosureResult the boot flow reads.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../common/atomic.ts";
import { withLock } from "../../common/lock.ts";
import { ClosureResult } from "../../common/manifest.ts";
import { nixArgv } from "../../common/nix.ts";
import { setProgress } from "../../common/progress.ts";
import { CommandError, run } from "../../common/run.ts";
import { BootspecError, parseBootspec } from "./bootspec.ts";
import { checkConfigDir, configFlakeRef } from "./config_dir.ts";
import { configLockPath } from "./plan.ts";

/** The argument vector of the build (Nix 2.8 has no --print-out-paths: --json instead). */
export function buildArgv(dir: string): string[] {
  return nixArgv(["build", `${configFlakeRef(dir)}#toplevel`, "--json", "--out-link", join(dir, "result")]);
}

/** The toplevel's store path from `nix build --json` output. */
export function toplevelFromBuildJson(stdout: string): string {
  const data = JSON.parse(stdout) as { outputs?: { out?: string } }[];
  const out = data[0]?.outputs?.out;
  if (!out || !out.startsWith("/nix/store/")) throw new Error(`nix build --json did not name the toplevel's out path: ${stdout.trim()}`);
  return out;
}

export const STALE_COPY_HINT =
  "the library changed since flake.lock pinned it and the pinned copy is no longer in the Nix store; run the flow with update_lock: true to pin the library as it is now";

export async function main(config_dir: string) {
  const dir = checkConfigDir(config_dir);
  return withLock(configLockPath(dir), { what: `the NixOS config in ${dir}` }, async () => {
    await setProgress(5, "nix build");
    let stdout: string;
    try {
      stdout = (await run(buildArgv(dir), { capture: true })).stdout;
    } catch (err) {
      if (err instanceof CommandError && err.tail.some((l) => l.includes("NAR hash mismatch in input"))) {
        throw new Error(`build_closure: ${STALE_COPY_HINT}\n${err.message}`);
      }
      throw err;
    }
    const toplevel = toplevelFromBuildJson(stdout);
    const bootJson = join(toplevel, "boot.json");
    const text = await readFile(bootJson, "utf8").catch(() => {
      throw new BootspecError(`${bootJson} does not exist: the closure has no bootspec (org.nixos.bootspec.v1)`);
    });
    const spec = parseBootspec(text, bootJson);
    for (const [what, path] of [["init", spec.init], ["initrd", spec.initrd]] as const) {
      if (!existsSync(path)) throw new BootspecError(`${bootJson}: ${what} ${path} does not exist`);
    }
    const result = ClosureResult.parse({ toplevel, init: spec.init, initrd: spec.initrd, config_dir: dir, kernel_params: spec.kernelParams });
    const text2 = `${JSON.stringify(result, null, 2)}\n`;
    if ((await readFile(join(dir, "result.json"), "utf8").catch(() => null)) !== text2) await writeFileAtomic(join(dir, "result.json"), text2);
    console.log(`build_closure: toplevel ${toplevel}\n  init   ${spec.init}\n  initrd ${spec.initrd}`);
    await setProgress(100, "built");
    return result;
  });
}
