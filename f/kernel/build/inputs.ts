// The inputs of f/kernel/build, declared once: the flow form is generated from this
// object (scripts/flow-forms.ts), the flow's first step parses flow_input with it, and
// every later step reads the parsed result. Checks that need the source tree (make
// target, fragment names) or the disk (an mbox, a fragment file) are made by the first
// step too, before anything changes; see project.ts.

import { z } from "zod";
import { expectedBy, checkedBy, field } from "../../common/inputs.ts";
import * as shared from "../../common/pipeline/fields.ts";
import { ARCHES } from "./arch.ts";
import { CONFIG_METHODS, PRESETS } from "./config.ts";
import { checkMakeArgs } from "./make.ts";
import { parseSeries } from "./series.ts";

const FRAGMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const MAKE_TARGET = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const Inputs = z
  .strictObject({
    git_ref: field(z.string().trim().min(1), {
      description: "Source: the tag, branch (yours, or mirror/<branch>) or commit of the linux Bare to build.",
      placeholder: "v6.1",
      expected: "a tag, branch or commit of the linux Bare",
    }),
    b4_series: field(z.string().trim().default("").superRefine(checkedBy(parseSeries)), {
      description: "Source: a b4 series applied on top of git_ref: a message-id (fetched with b4), or the absolute path of a local mbox for offline use. Empty for none.",
    }),
    custom_label: shared.customLabelField("the series or the ref"),
    label: shared.labelField(),
    config_method: field(z.enum(CONFIG_METHODS).default("make_target"), { description: "Config: how the .config is made." }),
    make_target: field(z.string().default("defconfig").superRefine(expectedBy((t) => (MAKE_TARGET.test(t) ? null : "a make config target such as defconfig, tinyconfig or x86_64_defconfig"))), {
      description: "Config: the make config target (defconfig, tinyconfig, x86_64_defconfig, ...); also the base the preset or fragments are merged onto.",
    }),
    preset: field(z.enum(PRESETS).default("imageless"), {
      description: "Config: with config_method preset, the preset merged onto make_target (imageless: what an imageless NixOS guest needs built in).",
    }),
    fragments: field(
      z.array(z.string().superRefine(expectedBy((f) => (f.startsWith("/") || FRAGMENT_NAME.test(f) ? null : "upstream fragment names (kvm_guest.config), project fragment names or absolute paths of fragment files")))).default([]),
      { description: "Config: with config_method fragments, fragments merged onto make_target in this order: upstream names (kvm_guest.config), the project's f/kernel/configs names (tiny-guest), or absolute file paths." },
    ),
    arch: field(z.enum(ARCHES).default("x86_64"), { description: "Toolchain: the target architecture (arm64 needs a cross toolchain in the build shell)." }),
    compiler: shared.compilerField("gcc, or clang (built as LLVM=1)."),
    ccache: shared.ccacheField(),
    ccache_max_size: shared.ccacheMaxSizeField(),
    compile_commands: shared.compileCommandsField(),
    make_args: field(z.string().default("").superRefine(checkedBy(checkMakeArgs)), {
      description: "Toolchain: extra make arguments (V=1, KCFLAGS=...), split into words without a shell and passed literally.",
    }),
    reproducible: field(z.boolean().default(true), { description: "Toolchain: build timestamp from the commit date, fixed build user and host." }),
    shared: shared.sharedField(),
    reuse: shared.reuseField(),
    recreate_worktree: field(z.boolean().default(false), { description: "Worktree: delete the worktree (with build/ and destdir/) and add it afresh." }),
    wipe_build: field(z.boolean().default(false), { description: "Worktree: empty build/ before configuring (a cold build)." }),
    nixos_flake: shared.nixosFlakeField(),
    devshell: shared.devshellField("build-kernel"),
  })
  .superRefine(shared.refineCustomLabel)
  .superRefine((v, ctx) => {
    if (v.config_method === "fragments" && v.fragments.length === 0) {
      ctx.addIssue({ code: "custom", path: ["fragments"], message: "at least one fragment when config_method is fragments" });
    }
  });
export type Inputs = z.output<typeof Inputs>;
