// The inputs of f/qemu/build, declared once: the flow form is generated from this object
// (scripts/flow-forms.ts), the flow's first step parses flow_input with it, and every
// later step reads the parsed result. The target list is checked against the source
// tree by the first step too (project.ts), before anything changes.

import { z } from "zod";
import { checkedBy, field } from "../../common/inputs.ts";
import * as shared from "../../common/pipeline/fields.ts";
import { DEFAULT_TARGETS, splitConfigureArgs, TARGET_CHOICES } from "./plan.ts";

export const METHODS = ["make", "nix"] as const;
export const NIX_SOURCES = ["flake", "qemu_ref"] as const;

export const Inputs = z
  .strictObject({
    method: field(z.enum(METHODS).default("make"), {
      description: "make: configure and make qemu_ref from the Bare (the custom-version path). nix: QEMU as a Nix package from the library, with qemu_binary in the Nix store.",
    }),
    qemu_ref: field(z.string().trim().min(1).default("v11.0.0"), {
      description: "Source: the tag, branch or commit of the qemu Bare to build, as the kernel build's git_ref.",
      expected: "a tag, branch or commit of the qemu Bare",
    }),
    nix_source: field(z.enum(NIX_SOURCES).default("flake"), {
      description: "method nix only: flake builds <library>#qemu as the library has it; qemu_ref overrides its source to qemu_ref (qemu.overrideAttrs with src = that commit).",
      showExpr: "fields.method === 'nix'",
    }),
    custom_label: shared.customLabelField("the ref (vanilla for an upstream tag, else a slug of qemu_ref)"),
    label: shared.labelField(),
    target_list: field(
      z
        .array(z.enum(TARGET_CHOICES))
        .min(1)
        .default([...DEFAULT_TARGETS])
        .transform((t) => [...new Set(t)].sort()),
      { description: "QEMU targets, comma-joined into --target-list and checked against the tree's configs/targets/*.mak.", expected: "a non-empty list of QEMU targets such as x86_64-softmmu" },
    ),
    compiler: shared.compilerField("passed as configure --cc/--cxx (the build shell's CC would win otherwise); clang also gets -Qunused-arguments."),
    ccache: shared.ccacheField(),
    ccache_max_size: shared.ccacheMaxSizeField(),
    compile_commands: shared.compileCommandsField(),
    configure_args: field(z.string().default("").superRefine(checkedBy(splitConfigureArgs)), {
      description: "Toolchain: extra configure flags such as --disable-werror, split into arguments without a shell.",
    }),
    shared: shared.sharedField(),
    reuse: shared.reuseField(),
    nixos_flake: shared.nixosFlakeField(),
    devshell: shared.devshellField("build-qemu"),
  })
  .superRefine(shared.refineCustomLabel);
export type Inputs = z.output<typeof Inputs>;

/** Whether the build needs qemu_ref checked out: a make build, or the package with its source overridden. */
export const buildsFromRef = (i: Pick<Inputs, "method" | "nix_source">) => i.method === "make" || i.nix_source === "qemu_ref";
