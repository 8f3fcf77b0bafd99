// The inputs of f/kernel/selftests, declared once: the flow form is generated from this
// object (scripts/flow-forms.ts) and the flow's first step parses flow_input with it.
// The checks that need the machine (the guest is running that kernel, the kernel carries
// kselftests, the selected tests exist in its install) are made by the same step, before
// the guest is touched; see plan.ts.

import { z } from "zod";
import { checkedBy, expectedBy, field } from "../../common/inputs.ts";
import { checkName } from "../../common/layout.ts";
import { vmField } from "../../qsu/lib/fields.ts";

/** kselftest's own default per-test timeout (tools/testing/selftests/kselftest/runner.sh). */
export const DEFAULT_TIMEOUT_S = 45;
export const LABEL_MAX = 40;
/** A collection (size, net/forwarding) or one test of it (size:get_size). */
export const TEST_SELECTOR = /^[A-Za-z0-9][A-Za-z0-9._+-]*(\/[A-Za-z0-9][A-Za-z0-9._+-]*)*(:[A-Za-z0-9._+-]+)?$/;

export const Inputs = z.strictObject({
  vm: vmField("The running guest to test in (booted by f/qsu/boot or f/qsu/bringup with this kernel)."),
  kernel: field(z.union([z.string().trim().min(1), z.record(z.string(), z.unknown())]), {
    description: "The kernel the guest runs: f/kernel/build's manifest (the JSON of its result.json), or its Store key (kernel-<kernelrelease>). It must have been built with selftests.",
    expected: "a kernel manifest object or its Store key (kernel-<kernelrelease>)",
  }),
  tests: field(
    z.array(z.string().trim().superRefine(expectedBy((s) => (TEST_SELECTOR.test(s) ? null : "a collection (size) or collection:test (size:get_size)")))).default([]),
    { description: "The tests to run, in this order: collections (size) or collection:test names (size:get_size); empty for every test the kernel installed." },
  ),
  timeout_s: field(z.number().int().min(1).max(86400).default(DEFAULT_TIMEOUT_S), {
    description: "Seconds each test may run before it is killed and reported as a timeout (kselftest's default is 45).",
    expected: "a whole number of seconds from 1 to 86400",
  }),
  label: field(z.string().trim().default("").superRefine(checkedBy((l: string) => (l === "" ? l : checkName("label", l, LABEL_MAX)))), {
    description: "A label for this result set, in its folder name and result.json (baseline, series-v2, ...); empty for none.",
  }),
});
export type Inputs = z.output<typeof Inputs>;
