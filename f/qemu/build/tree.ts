// Reading what a QEMU source tree says about itself: its version, the targets it can
// build, whether its configure knows --disable-download and whether it has meson wrap
// files to download. It reads through a SourceReader, so the first step can ask the
// Bare's commit before any worktree exists, and later steps the worktree. Thin: the
// decisions are in plan.ts.

import type { SourceReader } from "../../common/pipeline/project.ts";
import { hasSubprojectWraps, parseVersionFile, supportsDisableDownload, targetsInTree } from "./plan.ts";

export interface QemuTreeFacts {
  version: string;
  targets: string[];
  disableDownload: boolean;
  subprojectWraps: boolean;
}

export async function readQemuTree(tree: SourceReader, where: string): Promise<QemuTreeFacts> {
  const versionText = await tree.read("VERSION");
  if (versionText === null) throw new Error(`${where} is not a QEMU source tree: it has no VERSION file`);
  const configure = await tree.read("configure");
  if (configure === null) throw new Error(`${where} is not a QEMU source tree: it has no configure script`);
  return {
    version: parseVersionFile(versionText),
    targets: targetsInTree(await tree.list("configs/targets")),
    disableDownload: supportsDisableDownload(configure),
    subprojectWraps: hasSubprojectWraps(await tree.list("subprojects")),
  };
}
