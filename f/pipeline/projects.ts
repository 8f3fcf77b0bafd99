// The build projects the pipeline knows, by the name the shared steps take. A new build
// project (a firmware, a userspace tool) adds its adapter here and its own steps beside
// it; see docs/architecture.md.

import { InputError } from "../common/errors.ts";
import type { BuildProject } from "../common/pipeline/project.ts";
import { kernelProject } from "../kernel/build/project.ts";
import { qemuProject } from "../qemu/build/project.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyProject = BuildProject<any, any>;

export const PROJECTS: Readonly<Record<string, AnyProject>> = {
  linux: kernelProject,
  qemu: qemuProject,
};

export function buildProject(name: string): AnyProject {
  const p = PROJECTS[name];
  if (!p) throw new InputError("project", `one of ${Object.keys(PROJECTS).join(", ")}`, name);
  return p;
}
