#!/usr/bin/env bash
# The main job: set the machine up, then run f/qsu/bringup (build or reuse the kernel,
# QEMU and the NixOS closure, then boot the guest). Arguments go to `kdevflow run`,
# e.g. `scripts/bringup.sh --set vm=dev --set kernel.git_ref=v6.12`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
scripts/setup.sh
exec ./kdevflow run f/qsu/bringup "$@"
