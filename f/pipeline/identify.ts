// identify: name the build once its tree is ready (for a kernel, once the .config is
// final). The project says what decides the output; the identity is 12 hex digits over
// it; the label is the custom one, else the applied series' subject, else `vanilla` for
// an upstream tag, else a slug of the ref; the project fits it into its names (a kernel
// into uname -r's 64 characters). When that identity is already published and reuse is
// on, the published manifest comes back and the flow skips the build steps and publish.

import { readResult } from "../common/inputs.ts";
import { buildIdentity } from "../common/pipeline/identity.ts";
import { deriveLabel } from "../common/pipeline/label.ts";
import { Applied, checkedSchema, Worktree, type Identified } from "../common/pipeline/project.ts";
import { decideReuse } from "../common/pipeline/reuse.ts";
import { setProgress } from "../common/progress.ts";
import { buildProject } from "./projects.ts";

export async function main(project: "linux" | "qemu", checked: object, worktree: object, applied: object | null = null): Promise<Identified<unknown>> {
  const adapter = buildProject(project);
  const c = readResult(checkedSchema(adapter.inputs), checked, "check_inputs' result");
  const wt = readResult(Worktree, worktree, "prepare_worktree's result");
  const series = applied === null ? null : readResult(Applied, applied, "what was applied on top of the ref");
  if (!c.source || !c.toolchain) throw new Error(`identify: ${project} builds from a source tree with a toolchain, and check_inputs gave none`);
  const ctx = { inputs: c.inputs, source: c.source, toolchain: c.toolchain, worktree: wt };

  const { parts, version } = await adapter.identify(ctx, series);
  const identity = buildIdentity(parts);
  console.log(`identity ${identity} over ${JSON.stringify(parts)}`);
  const cover = series?.applied ? series.cover_subject : null;
  const wanted = deriveLabel({
    customLabel: c.inputs.custom_label ? c.inputs.label : null,
    coverSubject: cover,
    ref: c.source.ref,
    refIsUpstreamTag: (c.source.resolved_ref ?? "").startsWith("refs/tags/") && !cover,
  });

  const named = await adapter.name(ctx, { version, label: wanted, identity });
  console.log(`label ${named.label}${named.label !== wanted ? ` (shortened from ${wanted})` : ""}, store key ${named.store_key}`);
  const decision = await decideReuse(adapter.manifest, adapter.storeProject, identity, c.inputs.reuse);
  if (decision.reuse && decision.manifest) {
    // The label is not part of the identity: a reused build keeps the name it was
    // published under, so the manifest and the Store agree.
    const m = decision.manifest as { label: string; store_key: string };
    await setProgress(100, `reusing ${m.store_key}`);
    return { reused: true, manifest: decision.manifest, identity, label: m.label, version, store_key: m.store_key, names: {} } satisfies Identified<unknown>;
  }
  await setProgress(100, `identity ${identity}`);
  return { reused: false, manifest: null, identity, label: named.label, version: named.version, store_key: named.store_key, names: named.names } satisfies Identified<unknown>;
}
