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
    reporters: ["default"],
  },
});
