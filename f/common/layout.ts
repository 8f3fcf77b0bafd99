// The Workbench layout: where kdevflow keeps everything it owns on a host.
//
// SYSTEM_DIR, WORKERS_DIR and WORKER_INDEX come from the worker's environment
// (Windmill passes them through WHITELIST_ENVS). A local run derives the ones that
// are missing from one root, KDEVFLOW_WORKBENCH, which defaults to
// $XDG_DATA_HOME/kdevflow (~/.local/share/kdevflow). Every path is absolute: Nix and
// the host's service manager get the same path a worker used.

import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { InputError } from "./errors.ts";

export interface WorkbenchLayout {
  /** The root the others were derived from, when they were derived. */
  root: string;
  systemDir: string;
  workersDir: string;
  workerIndex: number;
  /** WORKERS_DIR/<WORKER_INDEX>: this worker's slot. */
  slotDir: string;
}

export type Env = Record<string, string | undefined>;

export function defaultWorkbenchRoot(env: Env = process.env): string {
  const dataHome = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(env.HOME || homedir(), ".local", "share");
  return join(dataHome, "kdevflow");
}

function absoluteDir(name: string, value: string): string {
  if (!isAbsolute(value)) throw new InputError(name, "an absolute path", value);
  return value.replace(/\/+$/, "") || "/";
}

export function parseWorkerIndex(value: string): number {
  if (!/^[0-9]{1,6}$/.test(value)) throw new InputError("WORKER_INDEX", "a non-negative whole number", value);
  return Number(value);
}

/** Read the layout from the environment. Pure: it touches nothing on disk. */
export function workbenchLayout(env: Env = process.env): WorkbenchLayout {
  const root = absoluteDir("KDEVFLOW_WORKBENCH", env.KDEVFLOW_WORKBENCH || defaultWorkbenchRoot(env));
  const systemDir = absoluteDir("SYSTEM_DIR", env.SYSTEM_DIR || join(root, "system"));
  const workersDir = absoluteDir("WORKERS_DIR", env.WORKERS_DIR || join(root, "workers"));
  // A worker passes a whitelisted variable it does not have as "": that is "not set".
  const workerIndex = parseWorkerIndex(env.WORKER_INDEX || "0");
  return { root, systemDir, workersDir, workerIndex, slotDir: join(workersDir, String(workerIndex)) };
}

/** Paths under SYSTEM_DIR, named once. */
export const systemPaths = {
  mirror: (l: WorkbenchLayout, project: string) => join(l.systemDir, "mirror", `${project}.git`),
  bare: (l: WorkbenchLayout, project: string) => join(l.systemDir, "bare", `${project}.git`),
  storeIndex: (l: WorkbenchLayout) => join(l.systemDir, "store-index"),
  ccache: (l: WorkbenchLayout) => join(l.systemDir, "ccache"),
  locks: (l: WorkbenchLayout) => join(l.systemDir, "locks"),
  sshDir: (l: WorkbenchLayout) => join(l.systemDir, "ssh"),
};

/** Names that become one path component (projects, VMs, sources). */
export function checkName(field: string, value: string, maxLength = 64): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value) || value.includes("..") || value.length > maxLength) {
    throw new InputError(field, `a name of at most ${maxLength} letters, digits, '.', '_' or '-', not starting with '.' or '-' and without '/', '..' or spaces`, value);
  }
  return value;
}
