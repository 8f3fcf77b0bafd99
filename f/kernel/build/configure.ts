// configure, shared by the three branches of the flow's config-method branchone.
// Every method: validate against the checked-out tree (unknown target or fragment is an
// InputError before make runs), make the base .config, merge the requested options in a
// fixed order, run olddefconfig, then check that every requested option is really set
// (olddefconfig drops an option with unmet dependencies without a word).

import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../../common/atomic.ts";
import { devshellDrvPath } from "../../common/devshell/nix_develop.ts";
import { buildIdentity, contentDigest } from "../../common/pipeline/identity.ts";
import { setProgress } from "../../common/progress.ts";
import { headOf, kernelContext, resolveFragments, runMake, treeBaseTargets, type KernelStepInputs, type ResolvedFragment } from "./kbuild.ts";
import {
  checkMakeTarget,
  droppedMessage,
  droppedOptions,
  IMAGELESS_PRESET,
  KDEVFLOW_OPTIONS,
  mergeConfigText,
  mergeRequested,
  parseConfig,
  renderFragment,
  type ConfigMethod,
  type Preset,
} from "./plan.ts";

const STAMP_FILE = ".kdevflow-configure.json";

export interface ConfigureRequest extends KernelStepInputs {
  method: ConfigMethod;
  make_target: string;
  preset?: Preset;
  fragments?: string[];
  wipe_build: boolean;
}

export interface ConfigureResult {
  config: string;
  config_method: ConfigMethod;
  make_target: string;
  /** The fragments merged, in order, with where each came from. */
  fragments: { name: string; path: string; origin: string }[];
  /** Every option asked for, as CONFIG_X=value, checked present after olddefconfig. */
  requested: string[];
}

export function presetFragments(preset: Preset): { name: string; text: string }[] {
  switch (preset) {
    case "imageless":
      return [{ name: "preset imageless", text: renderFragment(IMAGELESS_PRESET, "the imageless preset") }];
  }
}

export async function configureKernel(req: ConfigureRequest): Promise<ConfigureResult> {
  const ctx = await kernelContext(req);
  // Validate against the tree before anything is written.
  checkMakeTarget(req.make_target, await treeBaseTargets(req.worktree, req.arch));
  let merged: { name: string; text: string }[] = [];
  let resolved: ResolvedFragment[] = [];
  if (req.method === "fragments") {
    resolved = await resolveFragments(req.fragments ?? [], req.worktree, req.arch);
    merged = resolved.map((f) => ({ name: f.name, text: f.text }));
  } else if (req.method === "preset") {
    merged = presetFragments(req.preset ?? "imageless");
  }
  merged.push({ name: "kdevflow release naming", text: renderFragment(KDEVFLOW_OPTIONS, "kdevflow names the release") });

  if (req.wipe_build) {
    console.log(`wipe_build: emptying ${req.build_dir}`);
    for (const entry of await readdir(req.build_dir).catch(() => [] as string[])) await rm(join(req.build_dir, entry), { recursive: true, force: true });
  }
  const configPath = join(req.build_dir, ".config");
  // Kconfig is deterministic: the same base target, options, tree and toolchain give the
  // same .config. When this build dir's .config came from exactly these inputs and is
  // unchanged since, keep it instead of running make again (a reused or no-op build
  // then costs seconds, not a kconfig run).
  const stampPath = join(req.build_dir, STAMP_FILE);
  const key = buildIdentity({
    method: req.method,
    make_target: req.make_target,
    fragments: merged.map((m) => m.text),
    tree: (await headOf(req.worktree)).tree,
    arch: req.arch,
    compiler: req.compiler,
    make_args: [...ctx.make.makeArgv],
    devshell: await devshellDrvPath(ctx.shell),
  });
  const stamp = JSON.parse(await readFile(stampPath, "utf8").catch(() => "{}")) as { key?: string; config?: string };
  const current = await readFile(configPath, "utf8").catch(() => null);
  if (stamp.key === key && current !== null && stamp.config === contentDigest(current)) {
    console.log(`configure: ${configPath} was made from these same inputs (${key}) and is unchanged; keeping it`);
  } else {
    await rm(stampPath, { force: true });
    await setProgress(10, `make ${req.make_target}`);
    await runMake(ctx, [req.make_target]);
    const base = await readFile(configPath, "utf8");
    await writeFile(configPath, mergeConfigText(base, merged));
    await setProgress(60, "olddefconfig");
    await runMake(ctx, ["olddefconfig"]);
    await writeJsonAtomic(stampPath, { key, config: contentDigest(await readFile(configPath, "utf8")) });
  }
  const final = parseConfig(await readFile(configPath, "utf8"));
  const requested = mergeRequested(merged.map((m) => m.text));
  const dropped = droppedOptions(requested, final);
  if (dropped.length) throw new Error(droppedMessage(dropped, req.method));
  await setProgress(100, "configured");
  return {
    config: configPath,
    config_method: req.method,
    make_target: req.make_target,
    fragments: [
      ...resolved.map((f) => ({ name: f.name, path: f.path, origin: f.origin })),
      ...(req.method === "preset" ? [{ name: req.preset ?? "imageless", path: "(built in)", origin: "preset" }] : []),
    ],
    requested: [...requested].map(([k, v]) => (v === "n" ? `# CONFIG_${k} is not set` : `CONFIG_${k}=${v}`)),
  };
}
