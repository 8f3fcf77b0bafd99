import { defineConfig } from "vitest/config";

// Unit tests (tests/unit) are pure and fast. Integration tests (tests/integration) run
// real git, nix, make, QEMU and systemd; they take minutes, so they run one file at a
// time on these 2-core machines and get long timeouts.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 1_800_000,
    fileParallelism: false,
    pool: "forks",
    // Names the run and its folder (per-run copies of the test flakes live there).
    globalSetup: ["tests/harness/global-setup.ts"],
    // A skipped test fails the run (a setup failure must never look like a skip).
    reporters: ["default", "./tests/harness/no-skips-reporter.ts"],
  },
});
