// The boot plan: everything f/qsu/boot will write and start, computed from a validated
// spec and the facts found on the machine (accelerator, virtiofsd). A plain object:
// the apply step writes it without deciding anything, and it is the step's output in
// the job log.

import { join } from "node:path";
import { qemuArgv, qemuImgCreateArgv, qemuImgPath } from "./qemu_argv.ts";
import { DROPIN_NAME, MAX_SOCKET_PATH, qemuUnit, shareSocket, virtiofsdDropinDir, virtiofsdUnit, diskPath, type VmPaths } from "./names.ts";
import type { VmSpec } from "./spec.ts";
import { qemuDropin, qemuTemplate, virtiofsdDropin, virtiofsdTemplate, type ShareUnitPlan } from "./units.ts";
import { virtiofsdArgv, type Virtiofsd } from "./virtiofsd.ts";
import { sshConfigText, type Login } from "./login.ts";
import { InputError } from "../../common/errors.ts";

export interface PlannedFile {
  path: string;
  content: string;
}

export interface BootPlan {
  vm: string;
  accel: "kvm" | "tcg";
  paths: VmPaths;
  qemuUnit: string;
  shareUnits: ShareUnitPlan[];
  /** Every unit the guest uses, QEMU last (the start order). */
  units: string[];
  qemuArgv: string[];
  /** Unit files: the two templates and one drop-in per instance. */
  files: PlannedFile[];
  /** Extra disks: created with qemu-img when missing. */
  disks: { path: string; sizeMb: number; argv: string[] }[];
  readyMarker: string | null;
  readySsh: boolean;
  sshPort: number | null;
  timeoutS: number;
  /** How to log in (null without an SSH forward), and the ssh_config entry apply writes for it. */
  login: Login | null;
  sshConfig: PlannedFile | null;
}

/**
 * `managedKey` is the Workbench's managed private key (null when it has none): the key
 * logins and SSH readiness use.
 */
export function planBoot(spec: VmSpec, paths: VmPaths, accel: "kvm" | "tcg", virtiofsd: Virtiofsd | null, managedKey: string | null = null): BootPlan {
  const fsShares = spec.shares.filter((s) => s.transport === "virtiofs");
  if (fsShares.length > 0 && !virtiofsd) {
    throw new InputError("share_transport", "9p when no virtiofsd is installed (looked beside QEMU, on PATH, /usr/libexec and /usr/lib/qemu)", "virtiofs");
  }
  const sockets = [paths.qmpSocket, paths.hvcSocket, ...fsShares.map((s) => shareSocket(paths, s.tag))];
  const long = sockets.find((s) => s.length > MAX_SOCKET_PATH);
  if (long) throw new InputError("vm", `a shorter name: the socket ${long} is longer than ${MAX_SOCKET_PATH} bytes`, spec.vm);

  const qUnit = qemuUnit(spec.vm);
  const shareUnits: ShareUnitPlan[] = fsShares.map((s) => {
    const socket = shareSocket(paths, s.tag);
    return { tag: s.tag, unit: virtiofsdUnit(spec.vm, s.tag), socket, argv: virtiofsdArgv(virtiofsd!, socket, s.source, s.readonly) };
  });
  const argv = qemuArgv(spec, paths, accel);
  const files: PlannedFile[] = [
    { path: paths.templates.qemu, content: qemuTemplate() },
    { path: paths.templates.virtiofsd, content: virtiofsdTemplate() },
    { path: join(paths.qemuDropinDir, DROPIN_NAME), content: qemuDropin(paths, argv, shareUnits.map((u) => u.unit)) },
    ...shareUnits.map((u) => ({ path: join(virtiofsdDropinDir(paths, u.tag), DROPIN_NAME), content: virtiofsdDropin(paths, u, qUnit) })),
  ];
  const qemuImg = qemuImgPath(spec.qemu);
  const disks = spec.extraDisksMb.map((sizeMb, i) => ({ path: diskPath(paths, i), sizeMb, argv: qemuImgCreateArgv(qemuImg, diskPath(paths, i), sizeMb) }));
  const login: Login | null = spec.sshPort ? { vm: spec.vm, port: spec.sshPort, key: managedKey, sshConfig: paths.sshConfig } : null;
  return {
    vm: spec.vm,
    accel,
    paths,
    qemuUnit: qUnit,
    shareUnits,
    units: [...shareUnits.map((u) => u.unit), qUnit],
    qemuArgv: argv,
    files,
    disks,
    readyMarker: spec.readyMarker,
    readySsh: spec.readySsh,
    sshPort: spec.sshPort,
    timeoutS: spec.timeoutS,
    login,
    sshConfig: login ? { path: paths.sshConfig, content: sshConfigText(login) } : null,
  };
}

/** The accelerator to use: a forced one, else KVM only when the probe proved it boots a 64-bit guest. */
export function chooseAccel(requested: VmSpec["accel"], kvmWorks: boolean | null): "kvm" | "tcg" {
  if (requested === "kvm" || requested === "tcg") return requested;
  return kvmWorks === true ? "kvm" : "tcg";
}
