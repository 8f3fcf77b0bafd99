// Shared by the nix unit tests: the flow's inputs parsed as render_config parses them,
// planned against a library that offers what the real nixos-flake library offers.

import { parseInputs } from "../../f/common/inputs.ts";
import { PROFILES, TEST_SUITES } from "../../f/nix/build/catalog.ts";
import { Inputs } from "../../f/nix/build/inputs.ts";
import { planClosure, type ClosurePlan, type LibraryOffer, type PlanFacts } from "../../f/nix/build/plan.ts";

/** What github:linux-kdevops/nixos-flake offers (and the test library mirrors). */
export const FULL_OFFER: LibraryOffer = { profiles: [...PROFILES].sort(), testSuites: [...TEST_SUITES].sort(), mounts: ["shares", "storage"] };

/** A managed key as f/workbench/init makes it (a real ed25519 public key line). */
export const MANAGED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAz3DOVrecgnKU6nfYA3Pd19KuQSxti5eu/igjf+VItE kdevflow@host";

export const FACTS: PlanFacts = { offer: FULL_OFFER, managedKey: MANAGED_KEY };

/** Parse raw inputs (vm defaults to vm1) and plan them, with no environment. */
export function planFrom(raw: Record<string, unknown>, facts: PlanFacts = FACTS, env: Record<string, string | undefined> = {}): ClosurePlan {
  return planClosure(parseInputs(Inputs, { vm: "vm1", ...raw }), facts, env);
}
