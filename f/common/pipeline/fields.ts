// The form fields every build flow (kernel, QEMU) shares, declared once: naming
// (custom_label, label), the toolchain (compiler, ccache, ccache_max_size, the library
// and its build shell), the worktree (shared, reuse) and the outputs (compile_commands).
// Each project's inputs.ts spreads these into its own zod object, and the cross-field
// rule (a custom label must be valid when custom_label is on) is here too.

import { z } from "zod";
import { checkCcacheSize, DEFAULT_CCACHE_MAX_SIZE } from "../devshell/ccache.ts";
import { checkedBy, expectedBy, field } from "../inputs.ts";
import { flakeRefProblem } from "../nix.ts";
import { checkCustomLabel, CUSTOM_LABEL_MAX } from "./label.ts";

export const COMPILERS = ["gcc", "clang"] as const;
export type Compiler = (typeof COMPILERS)[number];

/** A dev shell attribute name: what `nix develop <flake>#<name>` takes. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_'-]*$/;

export const customLabelField = (what: string) =>
  field(z.boolean().default(false), { description: `Naming: name the build yourself instead of the label derived from ${what}.` });

export const labelField = () =>
  field(z.string().max(CUSTOM_LABEL_MAX).default(""), {
    description: `Naming: the custom label, 1 to ${CUSTOM_LABEL_MAX} characters; it goes into the build's name and Store key (shortened where a name has a length limit). Not part of the identity.`,
    showExpr: "fields.custom_label === true",
  });

export const compilerField = (note: string) => field(z.enum(COMPILERS).default("gcc"), { description: `Toolchain: ${note}` });

export const ccacheField = () =>
  field(z.boolean().default(true), { description: "Toolchain: compile through the shared ccache (SYSTEM_DIR/ccache), which kernel and QEMU builds share." });

export const ccacheMaxSizeField = () =>
  field(z.string().default(DEFAULT_CCACHE_MAX_SIZE).superRefine(checkedBy(checkCcacheSize)), { description: "Toolchain: the ccache size limit (10G, 500M, 10GiB, ...)." });

export const nixosFlakeField = () =>
  field(z.string().trim().default("").superRefine(expectedBy(flakeRefProblem)), {
    description: "Toolchain: the nixos-flake library whose build shell the build runs in; empty for KDEVFLOW_NIXOS_FLAKE, else the default library.",
  });

export const devshellField = (preferred: string) =>
  field(z.string().trim().default("").superRefine(expectedBy((s) => (s === "" || SHELL_NAME.test(s) ? null : `a dev shell name such as ${preferred}, or empty`))), {
    description: `Toolchain: the library's dev shell to build in; empty for ${preferred} (or build, when the library has only that).`,
  });

export const sharedField = () => field(z.boolean().default(false), { description: "Worktree: build in the shared named tree instead of this worker's own." });

export const reuseField = () =>
  field(z.boolean().default(true), { description: "Worktree: return the published build when its identity is already in the Store, without building." });

export const compileCommandsField = () =>
  field(z.boolean().default(true), { description: "Outputs: write compile_commands.json into the source root for clangd." });

/** When custom_label is on, the label must make a usable slug (an issue on `label`). */
export function refineCustomLabel(v: { custom_label: boolean; label: string }, ctx: z.RefinementCtx): void {
  if (v.custom_label) checkedBy((label: string) => checkCustomLabel(label), ["label"])(v.label, ctx);
}
