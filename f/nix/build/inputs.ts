// The inputs of f/nix/build, declared once: the flow form is generated from this object
// (scripts/flow-forms.ts) and the first step (render_config) parses flow_input with it.
// Each field is checked by the planner's own rule (plan.ts), so the form, the parse and
// the plan cannot disagree; planClosure then completes what is derived (host name, tags)
// and checks the selections against what the library really offers.

import { z } from "zod";
import { checkedBy, expectedBy, field } from "../../common/inputs.ts";
import { checkName } from "../../common/layout.ts";
import { flakeRefProblem } from "../../common/nix.ts";
import { DEFAULT_PROFILES, LIBRARY_DEFAULT_USER, PROFILES, TEST_SUITES } from "./catalog.ts";
import { checkHostname, checkShares, checkSourceOverrides, checkSshKey, checkUser } from "./plan.ts";

const ShareItem = z.object({
  source: field(z.string(), { description: "The host directory to share (absolute)." }),
  target: field(z.string().optional(), { description: "Where the guest mounts it (absolute), the key of nixos-flake.shares; default: source." }),
  tag: field(z.string().optional(), { description: "The virtiofs tag (1-36 letters, digits or '_'); default: from target." }),
  read_only: field(z.boolean().optional(), { description: "Mount it read-only in the guest (options = [ \"ro\" ])." }),
});

const OverrideItem = z.object({
  package: field(z.string(), { description: "The nixpkgs attribute whose source is overridden (fio, xfsprogs, ...)." }),
  url: field(z.string(), { description: "Its source: an absolute path (a local checkout) or a git URL (git+https://host/repo?ref=branch, git+ssh://, git+file://)." }),
});

export const Inputs = z.strictObject({
  vm: field(z.string().superRefine(checkedBy((v: string) => checkName("vm", v))), {
    description: "The VM's name: one path component (letters, digits, '.', '_', '-'); names the config directory.",
  }),
  nixos_flake: field(z.string().trim().default("").superRefine(expectedBy(flakeRefProblem)), {
    description: "The nixos-flake library whose template and modules the guest is built from; empty for KDEVFLOW_NIXOS_FLAKE, else github:linux-kdevops/nixos-flake.",
  }),
  profiles: field(z.array(z.enum(PROFILES)).default([...DEFAULT_PROFILES]), {
    description: "The library's profiles to import (nixosModules.profiles.<name>). Default: every guest profile (devel, build-tools, monitoring). monitoring and controller are gated: render sets nixos-flake.<name>.enable for them; controller is a host role, off by default. An empty list imports none.",
  }),
  test_suites: field(z.array(z.enum(TEST_SUITES)).default([...TEST_SUITES]), {
    description: "The library's test suites to import (nixosModules.testSuites.<name>). Default: all eight. An empty list imports none.",
  }),
  shares: field(z.array(ShareItem).default([]).superRefine(checkedBy((s: z.infer<typeof ShareItem>[]) => checkShares(s, ""), "relative")), {
    description: "Host directories shared into the guest over virtiofs (nixos-flake.shares, keyed by mount point): source (absolute host path), target (guest mount point, default: source), tag (default: from target), read_only.",
  }),
  ssh_keys: field(z.array(z.string()).default([]).superRefine(checkedBy((keys: string[]) => keys.forEach((k, i) => checkSshKey(k, i, "")), "relative")), {
    description: "OpenSSH public key lines authorised for root and the library's user, besides the Workbench's managed key (always authorised).",
  }),
  hostname: field(z.string().default("").superRefine(checkedBy((h: string) => h === "" || checkHostname(h))), { description: "The guest's host name. Empty: the VM name." }),
  user: field(z.string().default("").superRefine(checkedBy((u: string) => u === "" || checkUser(u))), {
    description: `The name of the library's unprivileged account (nixos-flake.user.name). Empty: the library's default (${LIBRARY_DEFAULT_USER}).`,
  }),
  source_overrides: field(z.array(OverrideItem).default([]).superRefine(checkedBy((o: z.infer<typeof OverrideItem>[]) => checkSourceOverrides(o, ""), "relative")), {
    description: "Packages built from your source: each becomes the non-flake input <package>-src of flake.nix, used by an overlay in default.nix (prev.<package>.overrideAttrs with src = that input).",
  }),
  update_lock: field(z.boolean().default(false), {
    description: "Re-pin the nixos-flake library in this VM's flake.lock to the library as it is now (otherwise a changed library is reported and the pinned copy is built).",
  }),
});
export type Inputs = z.output<typeof Inputs>;
