// Naming a QEMU make build from its checked-out tree and inputs: the tree's version and
// targets (the chosen ones checked against it), the dev shell's derivation, the 12-hex
// identity, the label, the install prefix and the Store key. It reads the tree and asks
// Nix for the dev shell's derivation path; it changes nothing on disk, so configure can
// call it before anything happens, and tests can name a build without building it.

import { join } from "node:path";
import { devshellDrvPath, type DevshellSpec } from "../../common/devshell/nix_develop.ts";
import { buildIdentity } from "../../common/pipeline/identity.ts";
import { capLabel, deriveLabel } from "../../common/pipeline/label.ts";
import { checkTargetsInTree, installName, LABEL_MAX, makeIdentityParts, storeKey, type Compiler } from "./plan.ts";
import { readQemuTree, type QemuTreeFacts } from "./tree.ts";

export interface NameInputs {
  worktree: string;
  destdir: string;
  /** The checked-out commit's tree hash. */
  tree: string;
  ref: string;
  /** The full ref name the ref resolved through (refs/tags/... means an upstream tag). */
  resolvedRef: string;
  targets: string[];
  compiler: Compiler;
  /** configure_args, split and checked. */
  extraArgs: string[];
  /** The custom label's slug, or null for the inferred one. */
  customLabel: string | null;
  devshell: DevshellSpec;
}

export interface BuildName {
  facts: QemuTreeFacts;
  devshellDrv: string;
  identity: string;
  label: string;
  prefix: string;
  storeKey: string;
}

export async function nameBuild(p: NameInputs): Promise<BuildName> {
  const facts = await readQemuTree(p.worktree);
  checkTargetsInTree(p.targets, facts.targets);
  const devshellDrv = await devshellDrvPath(p.devshell);
  const identity = buildIdentity(makeIdentityParts({ targets: p.targets, configureArgs: p.extraArgs, compiler: p.compiler, devshellDrv, tree: p.tree }));
  const label = capLabel(deriveLabel({ customLabel: p.customLabel, ref: p.ref, refIsUpstreamTag: p.resolvedRef.startsWith("refs/tags/") }), LABEL_MAX);
  return {
    facts,
    devshellDrv,
    identity,
    label,
    prefix: join(p.destdir, installName(facts.version, label, identity)),
    storeKey: storeKey(facts.version, label, identity),
  };
}
