// configure: make the .config by the chosen method: config_method make_target (the base
// target alone), preset (a preset merged onto it) or fragments (fragments merged onto it,
// in order); then olddefconfig, then the check that every requested option is really set
// (olddefconfig drops an option with unmet dependencies without a word). The inputs
// were checked against the tree by check_inputs, so an unknown target or fragment never
// gets here. Writes the shared ccache.conf (once per build).

import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../../common/atomic.ts";
import { buildIdentity, contentDigest } from "../../common/pipeline/identity.ts";
import { readStepContext } from "../../common/pipeline/project.ts";
import { writeCcacheConfFor } from "../../common/pipeline/toolchain.ts";
import { setProgress } from "../../common/progress.ts";
import { treeReader } from "../../workbench/git.ts";
import { droppedMessage, droppedOptions, IMAGELESS_PRESET, KDEVFLOW_OPTIONS, mergeConfigText, mergeRequested, parseConfig, renderFragment, type Preset } from "./config.ts";
import { Inputs } from "./inputs.ts";
import { headOf, kernelMake, resolveFragments, runMake } from "./kbuild.ts";
import { configPath } from "./project.ts";

const STAMP_FILE = ".kdevflow-configure.json";

export function presetFragments(preset: Preset): { name: string; text: string }[] {
  switch (preset) {
    case "imageless":
      return [{ name: "preset imageless", text: renderFragment(IMAGELESS_PRESET, "the imageless preset") }];
  }
}

export async function main(checked: object, worktree: object) {
  const { inputs: i, toolchain, wt } = readStepContext(Inputs, checked, worktree);
  const k = await kernelMake(i, toolchain, wt);
  const resolved = i.config_method === "fragments" ? await resolveFragments(i.fragments, treeReader(wt.worktree), i.arch) : [];
  const merged: { name: string; text: string }[] =
    i.config_method === "fragments" ? resolved.map((f) => ({ name: f.name, text: f.text })) : i.config_method === "preset" ? presetFragments(i.preset) : [];
  merged.push({ name: "kdevflow release naming", text: renderFragment(KDEVFLOW_OPTIONS, "kdevflow names the release") });

  if (i.wipe_build) {
    console.log(`wipe_build: emptying ${wt.build_dir}`);
    for (const entry of await readdir(wt.build_dir).catch(() => [] as string[])) await rm(join(wt.build_dir, entry), { recursive: true, force: true });
  }
  await writeCcacheConfFor(toolchain);
  const config = configPath(wt.build_dir);
  // Kconfig is deterministic: the same base target, options, tree and toolchain give the
  // same .config. When this build dir's .config came from exactly these inputs and is
  // unchanged since, keep it instead of running make again (a reused or no-op build
  // then costs seconds, not a kconfig run).
  const stampPath = join(wt.build_dir, STAMP_FILE);
  const key = buildIdentity({
    method: i.config_method,
    make_target: i.make_target,
    fragments: merged.map((m) => m.text),
    tree: (await headOf(wt.worktree)).tree,
    arch: i.arch,
    compiler: i.compiler,
    make_args: [...k.make.makeArgv],
    devshell: toolchain.drv,
  });
  const stamp = JSON.parse(await readFile(stampPath, "utf8").catch(() => "{}")) as { key?: string; config?: string };
  const current = await readFile(config, "utf8").catch(() => null);
  if (stamp.key === key && current !== null && stamp.config === contentDigest(current)) {
    console.log(`configure: ${config} was made from these same inputs (${key}) and is unchanged; keeping it`);
  } else {
    await rm(stampPath, { force: true });
    await setProgress(10, `make ${i.make_target}`);
    await runMake(k, [i.make_target]);
    await writeFile(config, mergeConfigText(await readFile(config, "utf8"), merged));
    await setProgress(60, "olddefconfig");
    await runMake(k, ["olddefconfig"]);
    await writeJsonAtomic(stampPath, { key, config: contentDigest(await readFile(config, "utf8")) });
  }
  const requested = mergeRequested(merged.map((m) => m.text));
  const dropped = droppedOptions(requested, parseConfig(await readFile(config, "utf8")));
  if (dropped.length) throw new Error(droppedMessage(dropped, i.config_method));
  await setProgress(100, "configured");
  return {
    config,
    config_method: i.config_method,
    make_target: i.make_target,
    /** The fragments merged, in order, with where each came from. */
    fragments: [
      ...resolved.map((f) => ({ name: f.name, path: f.path, origin: f.origin })),
      ...(i.config_method === "preset" ? [{ name: i.preset, path: "(built in)", origin: "preset" }] : []),
    ],
    /** Every option asked for, as CONFIG_X=value, checked present after olddefconfig. */
    requested: [...requested].map(([k, v]) => (v === "n" ? `# CONFIG_${k} is not set` : `CONFIG_${k}=${v}`)),
  };
}
