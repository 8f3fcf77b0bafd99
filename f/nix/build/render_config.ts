// Step 1 of f/nix/build: parse the flow's inputs once (inputs.ts; null means not given),
// ask the library what it offers (its template, profiles, test suites, mounts), and
// render the per-VM config directory WORKERS_DIR/<WORKER_INDEX>/nix/<vm>/ : flake.nix
// from the library's imageless template and default.nix from the plan, authorising the
// Workbench's managed SSH key (made here when f/workbench/init has not made it). Every
// input is checked before anything is written; both files are printed before the step
// returns.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../common/atomic.ts";
import { workbenchLayout } from "../../common/layout.ts";
import { withLock } from "../../common/lock.ts";
import { parseInputs } from "../../common/inputs.ts";
import { setProgress } from "../../common/progress.ts";
import { resolveFlake } from "../../common/nix.ts";
import { LIBRARY_DEFAULT_USER } from "./catalog.ts";
import { Inputs } from "./inputs.ts";
import { ensureManagedKey } from "../../workbench/ssh_key.ts";
import { libraryOffer, readTemplate } from "./library.ts";
import { configDirFor, configLockPath, planClosure } from "./plan.ts";
import { renderDefaultNix, renderFlakeNix } from "./render.ts";

async function writeIfChanged(path: string, content: string): Promise<boolean> {
  const old = await readFile(path, "utf8").catch(() => null);
  if (old === content) return false;
  await writeFileAtomic(path, content);
  return true;
}

export async function main(flow_input: object) {
  const inputs = parseInputs(Inputs, flow_input);
  const library = resolveFlake(inputs.nixos_flake);
  const template = await readTemplate(library);
  const offer = await libraryOffer(library);
  const layout = workbenchLayout();
  // Checked with a placeholder key first: bad input is refused before the key is made.
  planClosure(inputs, { offer, managedKey: null });
  const key = await ensureManagedKey(layout);
  const plan = planClosure(inputs, { offer, managedKey: key.public_line });
  const configDir = configDirFor(layout, plan.vm);
  const flakeNix = renderFlakeNix(template, plan);
  const defaultNix = renderDefaultNix(plan);

  const changed = await withLock(configLockPath(configDir), { what: `the NixOS config of ${plan.vm}` }, async () => {
    const a = await writeIfChanged(join(configDir, "flake.nix"), flakeNix);
    const b = await writeIfChanged(join(configDir, "default.nix"), defaultNix);
    return a || b;
  });

  console.log(`render_config: ${changed ? "wrote" : "unchanged"} ${configDir}`);
  console.log(`----- ${join(configDir, "flake.nix")}\n${flakeNix}----- ${join(configDir, "default.nix")}\n${defaultNix}-----`);
  await setProgress(100, "rendered");
  return {
    config_dir: configDir,
    nixos_flake: plan.library,
    changed,
    profiles: plan.profiles,
    test_suites: plan.testSuites,
    hostname: plan.hostname,
    user: plan.user ?? LIBRARY_DEFAULT_USER,
    ssh_key: key.private_key,
    shares: plan.shares.map((s) => ({ tag: s.tag, source: s.source, target: s.target, read_only: s.readOnly })),
    update_lock: inputs.update_lock,
  };
}
