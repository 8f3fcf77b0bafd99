// nix_package: the second method of f/qemu/build. QEMU comes from the flake as a Nix
// package instead of a make build: `<flake>#qemu` as the flake has it (nixpkgs' QEMU),
// or with nix_source = qemu_ref the same package with its source overridden to the
// qemu_ref checkout (`qemu.overrideAttrs (old: { src = <commit>; version = ...; })`),
// which Nix builds. The derivation names everything that decides the output, so its
// path is the identity's one part. Returns the same manifest a make build does, with
// qemu_binary in the Nix store; publish then roots it under the store key.

import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { readResult } from "../../common/inputs.ts";
import { workbenchLayout } from "../../common/layout.ts";
import { QemuManifest } from "../../common/manifest.ts";
import { nixArgv, nixOptionsFromEnv, nixSystem, resolveFlake } from "../../common/nix.ts";
import { buildIdentity } from "../../common/pipeline/identity.ts";
import { capLabel, deriveLabel } from "../../common/pipeline/label.ts";
import { checkedSchema } from "../../common/pipeline/project.ts";
import { decideReuse } from "../../common/pipeline/reuse.ts";
import { setProgress } from "../../common/progress.ts";
import { capture } from "../../common/run.ts";
import { treeReader } from "../../workbench/git.ts";
import { Inputs } from "./inputs.ts";
import { firmwareDirs, HOST_FIRMWARE_DIRS, LABEL_MAX, nixIdentityParts, PC_BIOS_FILES, PROJECT, storeKey } from "./plan.ts";
import { nixPackagePlan, parseQemuVersionOutput, targetsFromBinaries } from "./nix_plan.ts";
import { readQemuTree } from "./tree.ts";

/** What nix_package reads of prepare_worktree's result, for nix_source qemu_ref. */
const PreparedSource = z.object({ worktree: z.string(), bare: z.string(), commit: z.string() });

export async function main(checked: object, worktree: object | null = null) {
  const c = readResult(checkedSchema(Inputs), checked, "check_inputs' result");
  const i = c.inputs;
  const fromRef = i.nix_source === "qemu_ref";
  const wt = fromRef ? readResult(PreparedSource, worktree, "prepare_worktree's result (nix_source qemu_ref)") : null;
  const flake = resolveFlake(i.nixos_flake);
  const options = nixOptionsFromEnv();
  const version = wt ? (await readQemuTree(treeReader(wt.worktree), wt.worktree)).version : null;
  const plan = nixPackagePlan({ source: i.nix_source, flake, system: nixSystem(), bare: wt?.bare, commit: wt?.commit, version });

  await setProgress(5, `evaluate ${plan.what}`);
  const drvPath = await capture(nixArgv([...plan.evalArgs, ...plan.drvPathArgs], options));
  const identity = buildIdentity(nixIdentityParts({ drvPath }));
  // The flake's own package is named `nixpkgs` unless labelled: it has no ref.
  const name = capLabel(
    deriveLabel({ customLabel: i.custom_label ? i.label : null, ref: fromRef ? i.qemu_ref : "nixpkgs", refIsUpstreamTag: fromRef && (c.source?.resolved_ref ?? "").startsWith("refs/tags/") }),
    LABEL_MAX,
  );

  const layout = workbenchLayout();
  const resultDir = join(layout.slotDir, "qemu-nix");
  const decision = await decideReuse(QemuManifest, PROJECT, identity, i.reuse, layout);
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
    commit: wt ? wt.commit : "",
    ref: fromRef ? i.qemu_ref : `${flake}#qemu`,
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
