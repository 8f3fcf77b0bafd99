// Names and paths of one guest, decided once. A guest ("VM") is a name that becomes
// a unit instance, a folder under SYSTEM_DIR/vms and a folder under XDG_RUNTIME_DIR.
//
//   SYSTEM_DIR/vms/<vm>/vm.json        state: the manifests it is configured to run
//                                      (`current`) and what was up last (`booted`)
//   SYSTEM_DIR/vms/<vm>/console.log    the serial console (QEMU writes it)
//   SYSTEM_DIR/vms/<vm>/hvc0.log       the virtio console, while a client is attached
//   SYSTEM_DIR/vms/<vm>/ssh_config     `ssh -F <it> <vm>` logs in as root (boot writes it)
//   SYSTEM_DIR/vms/<vm>/disks/*.qcow2  extra empty disks
//   $XDG_RUNTIME_DIR/kdevflow/<vm>/    QMP socket, the virtio console's socket (console.sock)
//                                      and one virtiofsd socket per share
//   <unit dir>/qemu-system@.service, virtiofsd@.service          the templates
//   <unit dir>/qemu-system@<vm>.service.d/kdevflow.conf          per-VM drop-in
//   <unit dir>/virtiofsd@<vm>-<tag>.service.d/kdevflow.conf      per-share drop-in

import { isAbsolute, join } from "node:path";
import { InputError } from "../../common/errors.ts";
import type { Env, WorkbenchLayout } from "../../common/layout.ts";

export const QEMU_TEMPLATE = "qemu-system@.service";
export const VIRTIOFSD_TEMPLATE = "virtiofsd@.service";
export const DROPIN_NAME = "kdevflow.conf";
/** Longest path a unix socket can have (sun_path is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH = 107;

export function qemuUnit(vm: string): string {
  return `qemu-system@${vm}.service`;
}

/** Share tags never hold '-', so the unit name splits back at its last '-'. */
export function virtiofsdUnit(vm: string, tag: string): string {
  return `virtiofsd@${vm}-${tag}.service`;
}

/** The user unit folder: KDEVFLOW_UNIT_DIR, else $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user. */
export function unitDir(env: Env): string {
  if (env.KDEVFLOW_UNIT_DIR) {
    if (!isAbsolute(env.KDEVFLOW_UNIT_DIR)) throw new InputError("KDEVFLOW_UNIT_DIR", "an absolute path", env.KDEVFLOW_UNIT_DIR);
    return env.KDEVFLOW_UNIT_DIR;
  }
  if (env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME)) return join(env.XDG_CONFIG_HOME, "systemd", "user");
  if (!env.HOME) throw new InputError("HOME", "the home folder (or XDG_CONFIG_HOME) to find the user unit folder");
  return join(env.HOME, ".config", "systemd", "user");
}

export function runtimeDir(env: Env): string {
  const dir = env.XDG_RUNTIME_DIR;
  if (!dir || !isAbsolute(dir)) throw new InputError("XDG_RUNTIME_DIR", "the absolute path of the user's runtime folder (the user service manager's %t)", dir ?? "");
  return dir;
}

export interface VmPaths {
  vm: string;
  stateDir: string;
  stateFile: string;
  consoleLog: string;
  /** The virtio console hvc0: a unix socket to attach to (QEMU listens), and its log. */
  hvcSocket: string;
  hvcLog: string;
  /** An ssh_config entry for the guest, named after it. */
  sshConfig: string;
  disksDir: string;
  runDir: string;
  qmpSocket: string;
  unitDir: string;
  qemuUnit: string;
  qemuDropinDir: string;
  templates: { qemu: string; virtiofsd: string };
}

export function vmPaths(layout: WorkbenchLayout, env: Env, vm: string): VmPaths {
  const stateDir = join(layout.systemDir, "vms", vm);
  const runDir = join(runtimeDir(env), "kdevflow", vm);
  const units = unitDir(env);
  return {
    vm,
    stateDir,
    stateFile: join(stateDir, "vm.json"),
    consoleLog: join(stateDir, "console.log"),
    hvcSocket: join(runDir, "console.sock"),
    hvcLog: join(stateDir, "hvc0.log"),
    sshConfig: join(stateDir, "ssh_config"),
    disksDir: join(stateDir, "disks"),
    runDir,
    qmpSocket: join(runDir, "qmp.sock"),
    unitDir: units,
    qemuUnit: qemuUnit(vm),
    qemuDropinDir: join(units, `${qemuUnit(vm)}.d`),
    templates: { qemu: join(units, QEMU_TEMPLATE), virtiofsd: join(units, VIRTIOFSD_TEMPLATE) },
  };
}

export function shareSocket(paths: VmPaths, tag: string): string {
  return join(paths.runDir, `fs-${tag}.sock`);
}

export function virtiofsdDropinDir(paths: VmPaths, tag: string): string {
  return join(paths.unitDir, `${virtiofsdUnit(paths.vm, tag)}.d`);
}

export function diskPath(paths: VmPaths, index: number): string {
  return join(paths.disksDir, `disk${index}.qcow2`);
}
