// configure: QEMU's configure in build/ inside the build shell, with the install prefix
// identify named (destdir/<version>-<label>-<identity>), the targets, the compiler
// through ccache, and the extra flags. It writes the shared ccache.conf (once per build)
// and runs `meson subprojects download` first when the tree has wrap files (never
// fatal: offline it just logs). Skipped when identify reuses a published build.

import { mkdir } from "node:fs/promises";
import { runInDevshell } from "../../common/devshell/nix_develop.ts";
import { InputError } from "../../common/errors.ts";
import { readResult } from "../../common/inputs.ts";
import { QemuManifest } from "../../common/manifest.ts";
import { identifiedSchema, readStepContext } from "../../common/pipeline/project.ts";
import { shellOf, writeCcacheConfFor } from "../../common/pipeline/toolchain.ts";
import { setProgress } from "../../common/progress.ts";
import { CommandError } from "../../common/run.ts";
import { treeReader } from "../../workbench/git.ts";
import { Inputs } from "./inputs.ts";
import { configureArgv, showsWerror, splitConfigureArgs, werrorAdvice } from "./plan.ts";
import { readQemuTree } from "./tree.ts";

/** How long `meson subprojects download` may try before the build goes on without it. */
const SUBPROJECTS_TIMEOUT_MS = 120_000;

/** configure's own complaint about an option it does not know. */
function unknownOption(lines: readonly string[]): string | null {
  for (const l of lines) {
    const m = /^ERROR: (?:unknown option|Unknown option) (.*)$/.exec(l.trim());
    if (m) return m[1]!;
  }
  return null;
}

/** The install prefix identify named (a wiring fault when it is missing). */
export function prefixOf(identify: unknown): string {
  const prefix = readResult(identifiedSchema(QemuManifest), identify, "identify's result").names.prefix;
  if (!prefix) throw new Error("identify named no install prefix: this step runs only for a build that is not reused");
  return prefix;
}

export async function main(checked: object, worktree: object, identify: object) {
  const { inputs: i, toolchain, wt } = readStepContext(Inputs, checked, worktree);
  const prefix = prefixOf(identify);
  const facts = await readQemuTree(treeReader(wt.worktree), wt.worktree);
  const shell = shellOf(toolchain);
  await writeCcacheConfFor(toolchain);
  if (facts.subprojectWraps) {
    await setProgress(2, "meson subprojects download");
    const res = await runInDevshell(shell, ["meson", "subprojects", "download"], { cwd: wt.worktree, allowFailure: true, timeoutMs: SUBPROJECTS_TIMEOUT_MS });
    if (res.exitCode !== 0) console.log("configure: meson subprojects download failed (offline?); going on with the subprojects already in the tree");
  }
  await mkdir(wt.build_dir, { recursive: true });
  const argv = configureArgv({ src: wt.worktree, prefix, targets: i.target_list, compiler: i.compiler, ccache: i.ccache, extraArgs: splitConfigureArgs(i.configure_args), disableDownload: facts.disableDownload });
  await setProgress(5, "configure");
  const seen: string[] = [];
  try {
    await runInDevshell(shell, argv, { cwd: wt.build_dir, env: toolchain.ccache_env, onLine: (l) => seen.push(l), tailLines: 60 });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const opt = unknownOption(seen);
    if (opt !== null) throw new InputError("configure_args", `options QEMU ${facts.version}'s configure knows (it rejected ${opt}; see configure --help)`, i.configure_args);
    if (showsWerror(seen)) throw new Error(`${werrorAdvice(i.qemu_ref)}\n${err.message}`);
    throw err;
  }
  await setProgress(100, "configured");
  return { prefix, configure_argv: argv };
}
