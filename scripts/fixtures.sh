#!/usr/bin/env bash
# Build the upstream git repositories the integration tests clone (Linux from Debian's
# linux-source, QEMU from `apt-get source qemu`) ahead of time, so the first test that
# needs one does not wait minutes for it. They are cached outside the checkout in
# ${KDEVFLOW_FIXTURES:-$HOME/.cache/kdevflow/fixtures}; a second run returns at once.
#
# Usage: scripts/fixtures.sh [linux] [qemu]     (default: both)
# Needs: linux-source, dpkg-dev, git; root the first time (it adds a deb-src entry
# for the Debian release to /etc/apt/sources.list.d and runs apt-get update).
set -euo pipefail
cd "$(dirname "$0")/.."
bun=node_modules/.bin/bun
[ -x "$bun" ] || { echo "fixtures.sh: $bun is missing: run scripts/setup.sh first" >&2; exit 1; }
if [ "$#" -eq 0 ]; then set -- linux qemu; fi
exec "$bun" tests/harness/fixtures.ts "$@"
