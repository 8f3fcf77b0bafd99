// What a NixOS guest can be composed of: the library's profiles and test suites, as
// data. Adding a profile or a suite is adding a row here (and the module to the
// library), not code.

export const PROFILES = ["devel", "build-tools", "monitoring", "controller"] as const;
export type Profile = (typeof PROFILES)[number];

/** With no `profiles` given the guest gets every guest profile; `controller` is a host role. */
export const DEFAULT_PROFILES: readonly Profile[] = ["devel", "build-tools", "monitoring"];

/**
 * Gated profiles do nothing on import: the library turns them on with
 * `nixos-flake.monitoring.enable = true`, which render emits when any is selected.
 */
export const GATED_PROFILES: readonly Profile[] = ["monitoring"];

export const GATE_OPTION = ["nixos-flake", "monitoring", "enable"] as const;

export const TEST_SUITES = ["fstests", "blktests", "ltp", "mmtests", "pynfs", "selftests", "sysbench", "gitr"] as const;
export type TestSuite = (typeof TEST_SUITES)[number];

/** Where the library keeps its modules (attribute paths under the library input). */
export const MODULE_PATHS = {
  profile: (p: Profile) => ["nixos-flake", "nixosModules", "profiles", p],
  testSuite: (t: TestSuite) => ["nixos-flake", "nixosModules", "test-suites", t],
  shares: ["nixos-flake", "nixosModules", "shares"],
} as const;

/** Guest paths a share must not cover. */
export const RESERVED_MOUNT_POINTS = ["/nix", "/lib/modules", "/proc", "/sys", "/dev", "/run", "/tmp"] as const;

export const DEFAULT_USER = "kdevops";
