// The unit files, rendered as text from a plan. Two templates hold what every guest
// shares; one drop-in per instance holds what differs (the exact command line and the
// dependencies). Command lines are written as systemd's own quoted argument lists, so
// no shell ever reads them: `systemctl --user cat qemu-system@<vm>` shows exactly what
// runs, and `systemctl --user show -p ExecStart` gives it back as a vector.
//
// Ordering (docs/boot.md says why):
//   qemu-system@<vm>   Requires= + After= each virtiofsd@<vm>-<tag>: the daemons are up
//                      (their socket exists) before QEMU connects, and on a stop of both
//                      QEMU goes first, so a daemon never disappears under a running guest.
//   virtiofsd@<vm>-<tag>  PartOf= the QEMU unit: stopping or restarting the guest stops or
//                      restarts its daemons too. Not BindsTo=: a daemon exits by itself when
//                      QEMU disconnects, and BindsTo= would turn that into a stop of QEMU's
//                      next start.

import type { VmPaths } from "./names.ts";

/** One argument in systemd's command-line syntax: double-quoted, specifiers and variables escaped. */
export function systemdQuote(arg: string): string {
  if (/[\0]/.test(arg)) throw new Error("a command argument cannot hold a NUL byte");
  const body = arg
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replace(/%/g, "%%")
    .replace(/\$/g, "$$$$");
  return `"${body}"`;
}

export function execLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("an empty command line");
  return argv.map(systemdQuote).join(" ");
}

// A template started without its drop-in fails with a sentence instead of running
// something half-configured. The unit name reaches the fixed script as an argument.
const UNCONFIGURED = `/bin/sh -c 'echo "$$1 has no kdevflow configuration: create it with f/qsu/boot" >&2; exit 1' sh %n`;

export function qemuTemplate(): string {
  return `# kdevflow guest: QEMU. The per-VM command line and dependencies are in
# qemu-system@<vm>.service.d/kdevflow.conf, written by f/qsu/boot.
[Unit]
Description=kdevflow guest %i (QEMU)

[Service]
Type=exec
ExecStart=${UNCONFIGURED}
# The guest powering off ends QEMU; that is a normal end, not a failure to restart.
Restart=no
# f/qsu/stop asks the guest to power off over QMP first. A plain stop sends SIGTERM to
# QEMU only (it exits at once), then SIGKILL to anything left after the timeout.
KillMode=mixed
TimeoutStopSec=15
`;
}

export function virtiofsdTemplate(): string {
  return `# kdevflow guest share: one virtiofsd per shared folder. The command line is in
# virtiofsd@<vm>-<tag>.service.d/kdevflow.conf, written by f/qsu/boot.
[Unit]
Description=kdevflow virtiofsd %i

[Service]
Type=exec
ExecStart=${UNCONFIGURED}
Restart=no
TimeoutStopSec=10
`;
}

// Waits until the daemon's socket exists (at most 10 s), so "started" means "QEMU can connect".
const WAIT_SOCKET = `i=0; while [ ! -S "$1" ]; do i=$((i+1)); [ "$i" -le 200 ] || { echo "no socket $1 after 10 s" >&2; exit 1; }; sleep 0.05; done`;

export interface ShareUnitPlan {
  tag: string;
  unit: string;
  socket: string;
  argv: string[];
}

function runtimeDirectoryName(paths: VmPaths): string {
  // RuntimeDirectory= is relative to the manager's runtime folder (%t): kdevflow/<vm>.
  return `kdevflow/${paths.vm}`;
}

export function qemuDropin(paths: VmPaths, argv: readonly string[], shareUnits: readonly string[]): string {
  const deps = shareUnits.length ? `Requires=${shareUnits.join(" ")}\nAfter=${shareUnits.join(" ")}\n` : "";
  return `# Written by f/qsu/boot for the guest ${paths.vm}; f/qsu/destroy removes it.
[Unit]
${deps}
[Service]
RuntimeDirectory=${runtimeDirectoryName(paths)}
RuntimeDirectoryPreserve=yes
ExecStart=
ExecStart=${execLine(argv)}
`;
}

export function virtiofsdDropin(paths: VmPaths, share: ShareUnitPlan, qemuUnitName: string): string {
  return `# Written by f/qsu/boot for the guest ${paths.vm}, share ${share.tag}; f/qsu/destroy removes it.
[Unit]
PartOf=${qemuUnitName}
Before=${qemuUnitName}

[Service]
RuntimeDirectory=${runtimeDirectoryName(paths)}
RuntimeDirectoryPreserve=yes
ExecStartPre=${execLine(["/bin/rm", "-f", share.socket])}
ExecStart=
ExecStart=${execLine(share.argv)}
ExecStartPost=${execLine(["/bin/sh", "-c", WAIT_SOCKET, "wait-socket", share.socket])}
`;
}
