// nix_package: the second method of f/qemu/build. QEMU comes from the flake as a Nix
// package instead of a make build: `<flake>#qemu` as the flake has it (nixpkgs' QEMU),
// or with nix_source = qemu_ref the same package with its source overridden to the
// qemu_ref checkout (`qemu.overrideAttrs (old: { src = <commit>; version = ...; })`),
// which Nix builds. The derivation names everything that decides the output, so its
// path is the identity's one part. Returns the same manifest a make build does, with
// qemu_binary in the Nix store; publish then roots it under the store key.

import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { workbenchLayout } from "../../common/layout.ts";
import { QemuManifest } from "../../common/manifest.ts";
import { nixArgv, nixOptionsFromEnv, nixSystem, resolveFlake } from "../../common/nix.ts";
import { buildIdentity } from "../../common/pipeline/identity.ts";
import { capLabel, checkCustomLabel, deriveLabel } from "../../common/pipeline/label.ts";
import { decideReuse } from "../../common/pipeline/reuse.ts";
import { setProgress } from "../../common/progress.ts";
import { capture } from "../../common/run.ts";
import { firmwareDirs, HOST_FIRMWARE_DIRS, LABEL_MAX, nixIdentityParts, parseVersionFile, PC_BIOS_FILES, PROJECT, storeKey } from "./plan.ts";
import { nixPackagePlan, parseQemuVersionOutput, targetsFromBinaries } from "./nix_plan.ts";

export async function main(
  nix_source: "flake" | "qemu_ref" = "flake",
  qemu_ref: string = "",
  worktree: string = "",
  bare: string = "",
  commit: string = "",
  resolved_ref: string = "",
  custom_label: boolean = false,
  label: string = "",
  reuse: boolean = true,
  nixos_flake: string = "",
) {
  const customLabel = custom_label ? checkCustomLabel(label) : null;
  const flake = resolveFlake(nixos_flake);
  const options = nixOptionsFromEnv();
  const version = nix_source === "qemu_ref" ? parseVersionFile(await readFile(join(worktree, "VERSION"), "utf8")) : null;
  const plan = nixPackagePlan({ source: nix_source, flake, system: nixSystem(), bare, commit, version });

  await setProgress(5, `evaluate ${plan.what}`);
  const drvPath = await capture(nixArgv([...plan.evalArgs, ...plan.drvPathArgs], options));
  const identity = buildIdentity(nixIdentityParts({ drvPath }));
  const name =
    customLabel ??
    (nix_source === "qemu_ref" ? capLabel(deriveLabel({ ref: qemu_ref, refIsUpstreamTag: resolved_ref.startsWith("refs/tags/") }), LABEL_MAX) : "nixpkgs");

  const layout = workbenchLayout();
  const resultDir = join(layout.slotDir, "qemu-nix");
  const decision = await decideReuse(QemuManifest, PROJECT, identity, reuse, layout);
  if (decision.reuse && decision.manifest) return { manifest: decision.manifest, result_dir: resultDir };

  await setProgress(10, `nix build ${plan.what}`);
  const built = JSON.parse(await capture(nixArgv([...plan.buildArgs], options))) as { outputs?: { out?: string } }[];
  const out = built[0]?.outputs?.out;
  if (!out || !existsSync(out)) throw new Error(`nix build ${plan.what} gave no output path: ${JSON.stringify(built)}`);

  const bins = existsSync(join(out, "bin")) ? await readdir(join(out, "bin")) : [];
  const targets = targetsFromBinaries(bins);
  const emulator = targets.emulator;
  if (!emulator) throw new Error(`${out}/bin holds no qemu-system-* emulator`);
  const qemuBinary = join(out, "bin", emulator);
  const reported = parseQemuVersionOutput(await capture([qemuBinary, "--version"]));
  const dataDir = join(out, "share", "qemu");
  const manifest: QemuManifest = {
    kind: "qemu",
    method: "nix",
    qemu_binary: qemuBinary,
    version: version ?? reported,
    target_list: targets.list,
    commit: nix_source === "qemu_ref" ? commit : "",
    ref: nix_source === "qemu_ref" ? qemu_ref : `${flake}#qemu`,
    destdir: out,
    identity,
    label: name,
    store_path: out,
    store_key: storeKey(version ?? reported, name, identity),
    firmware_dirs: firmwareDirs({
      installDataDir: dataDir,
      installHasBios: PC_BIOS_FILES.some((f) => existsSync(join(dataDir, f))),
      hostDirs: HOST_FIRMWARE_DIRS.filter((d) => existsSync(d)),
    }),
    qemu_img: bins.includes("qemu-img") ? join(out, "bin", "qemu-img") : null,
    reused: false,
    built_at: new Date().toISOString(),
  };
  console.log(`nix_package: ${plan.what} -> ${out} (QEMU ${reported}, identity ${identity})`);
  return { manifest: QemuManifest.parse(manifest), result_dir: resultDir };
}
