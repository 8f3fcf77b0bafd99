// Reading what a QEMU source tree says about itself: its version, the targets it can
// build, whether its configure knows --disable-download and whether it has meson wrap
// files to download. Thin: the decisions are in plan.ts.

import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { hasSubprojectWraps, parseVersionFile, supportsDisableDownload, targetsInTree } from "./plan.ts";

export interface QemuTreeFacts {
  version: string;
  targets: string[];
  disableDownload: boolean;
  subprojectWraps: boolean;
}

async function listDir(dir: string): Promise<string[]> {
  return existsSync(dir) ? readdir(dir) : [];
}

export async function readQemuTree(src: string): Promise<QemuTreeFacts> {
  let versionText: string;
  try {
    versionText = await readFile(join(src, "VERSION"), "utf8");
  } catch {
    throw new Error(`${src} is not a QEMU source tree: it has no VERSION file`);
  }
  const configure = await readFile(join(src, "configure"), "utf8").catch(() => {
    throw new Error(`${src} is not a QEMU source tree: it has no configure script`);
  });
  return {
    version: parseVersionFile(versionText),
    targets: targetsInTree(await listDir(join(src, "configs", "targets"))),
    disableDownload: supportsDisableDownload(configure),
    subprojectWraps: hasSubprojectWraps(await listDir(join(src, "subprojects"))),
  };
}
