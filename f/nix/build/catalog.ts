// What a NixOS guest can be composed of, as the nixos-flake library names it
// (github:linux-kdevops/nixos-flake: nixosModules.profiles.<p>, nixosModules.testSuites.<t>,
// nixosModules.mounts.shares, the gates nixos-flake.<p>.enable). Adding a profile or a
// suite is adding a row here, not code; the library a run uses is asked what it has
// (library.ts), so a fork without one is told so before anything is written.

export const PROFILES = ["devel", "build-tools", "monitoring", "controller"] as const;
export type Profile = (typeof PROFILES)[number];

/** With no `profiles` given the guest gets every guest profile; `controller` is a host role. */
export const DEFAULT_PROFILES: readonly Profile[] = ["devel", "build-tools", "monitoring"];

/**
 * Gated profiles do nothing on import: the library turns each on with its own option,
 * which render sets when the profile is selected.
 */
export const PROFILE_GATES: Readonly<Partial<Record<Profile, readonly string[]>>> = {
  monitoring: ["nixos-flake", "monitoring", "enable"],
  controller: ["nixos-flake", "controller", "enable"],
};

export const TEST_SUITES = ["fstests", "blktests", "ltp", "mmtests", "pynfs", "selftests", "sysbench", "gitr"] as const;
export type TestSuite = (typeof TEST_SUITES)[number];

/** Where the library keeps its modules (attribute paths under the library input). */
export const MODULE_PATHS = {
  profile: (p: string) => ["nixos-flake", "nixosModules", "profiles", p],
  testSuite: (t: string) => ["nixos-flake", "nixosModules", "testSuites", t],
  shares: ["nixos-flake", "nixosModules", "mounts", "shares"],
} as const;

/** The option naming the library's unprivileged account (its default: `user`). */
export const USER_NAME_OPTION = ["nixos-flake", "user", "name"] as const;
export const LIBRARY_DEFAULT_USER = "user";

/** Guest paths a share must not cover. */
export const RESERVED_MOUNT_POINTS = ["/nix", "/lib/modules", "/proc", "/sys", "/dev", "/run", "/tmp", "/etc"] as const;
