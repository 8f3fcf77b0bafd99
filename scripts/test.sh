#!/usr/bin/env bash
# The test command: set the machine up (packages, npm, Nix, fixtures), type-check, then
# run every test, unit and integration. Extra arguments go to vitest.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
scripts/setup.sh --test
export KDEVFLOW_CACHE=${KDEVFLOW_CACHE:-$HOME/.cache/kdevflow}
export KDEVFLOW_FIXTURES=${KDEVFLOW_FIXTURES:-$KDEVFLOW_CACHE/fixtures}
# The real nixos-flake library the compatibility test renders against
# (tests/integration/nix-real-library.test.ts): the reference copy beside this checkout
# when there is one; without it the test fetches github:linux-kdevops/nixos-flake.
reference="$(dirname "$here")/shared/reference/nixos-flake"
if [ -z "${KDEVFLOW_REAL_NIXOS_FLAKE:-}" ] && [ -f "$reference/flake.nix" ]; then
  export KDEVFLOW_REAL_NIXOS_FLAKE=$reference
fi
echo "==> type-checking"
node_modules/.bin/tsc --noEmit
echo "==> running the tests"
exec node_modules/.bin/vitest run "$@"
