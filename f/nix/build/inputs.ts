// The inputs of f/nix/build, declared once: the flow form is generated from this object
// (scripts/flow-forms.ts) and the first step (render_config) parses flow_input with it.
// Each field is checked by the planner's own rule (plan.ts), so the form, the parse and
// the plan cannot disagree; planClosure then completes what is derived (host name, tags).

import { z } from "zod";
import { checkedBy, field } from "../../common/inputs.ts";
import { checkName } from "../../common/layout.ts";
import { nixosFlakeField } from "../../common/pipeline/fields.ts";
import { DEFAULT_PROFILES, DEFAULT_USER, PROFILES, TEST_SUITES } from "./catalog.ts";
import { checkHostname, checkShares, checkSourceOverrides, checkSshKey, checkUser } from "./plan.ts";

const ShareItem = z.object({
  source: field(z.string(), { description: "The host directory to share (absolute)." }),
  target: field(z.string().optional(), { description: "Where the guest mounts it (absolute); default: source." }),
  tag: field(z.string().optional(), { description: "The virtiofs tag; default: from target." }),
  read_only: field(z.boolean().optional(), { description: "Mount it read-only in the guest." }),
});

const OverrideItem = z.object({
  package: field(z.string(), { description: "The package whose source is overridden." }),
  url: field(z.string(), { description: "A flake reference for its source (git+https://..., github:owner/repo, or an absolute path)." }),
});

export const Inputs = z.strictObject({
  vm: field(z.string().superRefine(checkedBy((v: string) => checkName("vm", v))), {
    description: "The VM's name: one path component (letters, digits, '.', '_', '-'); names the config directory.",
  }),
  nixos_flake: nixosFlakeField(),
  profiles: field(z.array(z.enum(PROFILES)).default([...DEFAULT_PROFILES]), {
    description: "Guest profiles to import. Default: every guest profile (devel, build-tools, monitoring). monitoring is gated (render enables it); controller is a host role, off by default. An empty list imports none.",
  }),
  test_suites: field(z.array(z.enum(TEST_SUITES)).default([...TEST_SUITES]), {
    description: "Test suites to import. Default: all eight. An empty list imports none.",
  }),
  shares: field(z.array(ShareItem).default([]).superRefine(checkedBy((s: z.infer<typeof ShareItem>[]) => checkShares(s, ""), "relative")), {
    description: "Host directories shared into the guest over virtiofs: source (absolute host path), target (guest mount point, default: source), tag (default: from target), read_only.",
  }),
  ssh_keys: field(z.array(z.string()).default([]).superRefine(checkedBy((keys: string[]) => keys.forEach((k, i) => checkSshKey(k, i, "")), "relative")), {
    description: "OpenSSH public key lines authorised for the user.",
  }),
  hostname: field(z.string().default("").superRefine(checkedBy((h: string) => h === "" || checkHostname(h))), { description: "The guest's host name. Empty: the VM name." }),
  user: field(z.string().default(DEFAULT_USER).superRefine(checkedBy(checkUser)), { description: "The guest's login user (a normal user holding ssh_keys)." }),
  source_overrides: field(z.array(OverrideItem).default([]).superRefine(checkedBy((o: z.infer<typeof OverrideItem>[]) => checkSourceOverrides(o, ""), "relative")), {
    description: "Per-package source overrides: package name and a flake reference (git+https://..., or an absolute path) that becomes the input <package>-src.",
  }),
  update_lock: field(z.boolean().default(false), {
    description: "Re-pin the nixos-flake library in this VM's flake.lock to the library as it is now (otherwise a changed library is reported and the pinned copy is built).",
  }),
});
export type Inputs = z.output<typeof Inputs>;
