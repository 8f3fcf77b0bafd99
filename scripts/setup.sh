#!/usr/bin/env bash
# Set up a Debian bookworm machine for kdevflow: the packages the flows and tests call,
# the npm dependencies, a Nix configuration that works without a daemon, and (with
# --test) the test fixtures. Safe to run again: each part is skipped when done.
#
#   scripts/setup.sh          what `./kdevflow run ...` needs
#   scripts/setup.sh --test   also what the test suite needs (fixtures, ccache)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Packages: git and Nix for every flow; the kernel and QEMU build toolchains (the
# real dev shell carries its own, the test dev shell passes the host's through);
# QEMU, virtiofsd and systemd for guests; ssh, ssh-keygen and socat to reach them (the
# managed key, SSH readiness, the virtio console); b4 for patch series; rsync for kselftest-install.
packages=(
  git nix-bin ca-certificates xz-utils
  build-essential bc flex bison libelf-dev libssl-dev cpio kmod ccache rsync
  clang lld llvm
  meson ninja-build pkg-config libglib2.0-dev libpixman-1-dev zlib1g-dev python3-venv
  libslirp-dev libfdt-dev libcap-ng-dev
  qemu-system-x86 qemu-utils qemu-system-common busybox-static
  openssh-client socat
  systemd dbus util-linux procps iproute2
  b4 dpkg-dev
)
if [ "$want_test" = 1 ]; then
  packages+=(linux-source)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "Debian packages present"
fi

# npm dependencies (Bun, vitest, the Windmill CLI and validators come from npm).
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  # npm install, not npm ci: npm 11 writes lock files that its own `ci` then refuses
  # (platform-specific optional packages of rollup are "missing"). install still
  # takes the locked versions.
  npm install --no-audit --no-fund
else
  say "npm dependencies present"
fi

# Nix: flakes and the nix command on, and no build users when there is no daemon
# (Debian's nix-bin run as root). Written to the user's nix.conf, never /etc.
nix_conf_dir=${XDG_CONFIG_HOME:-$HOME/.config}/nix
if ! grep -qs 'kdevflow' "$nix_conf_dir/nix.conf"; then
  say "writing $nix_conf_dir/nix.conf"
  mkdir -p "$nix_conf_dir"
  {
    echo "# kdevflow: flakes on; no build users without a daemon"
    echo "experimental-features = nix-command flakes"
    if [ "$(id -u)" -eq 0 ] && ! pgrep -x nix-daemon >/dev/null 2>&1; then
      echo "build-users-group ="
      echo "sandbox = false"
    fi
  } >>"$nix_conf_dir/nix.conf"
fi

if [ "$want_test" = 1 ]; then
  # Large fixtures (kernel and QEMU source repos) and ccache live outside the checkout
  # so a fresh clone reuses them; they are rebuilt when missing.
  export KDEVFLOW_CACHE=${KDEVFLOW_CACHE:-$HOME/.cache/kdevflow}
  export KDEVFLOW_FIXTURES=${KDEVFLOW_FIXTURES:-$KDEVFLOW_CACHE/fixtures}
  mkdir -p "$KDEVFLOW_FIXTURES"
  if [ -x scripts/fixtures.sh ]; then
    say "preparing test fixtures in $KDEVFLOW_FIXTURES"
    scripts/fixtures.sh
  fi
fi
say "setup done"
