// The QEMU build, planned. Pure functions that decide what the steps run and what they
// call things: the target list, the configure command line, the install prefix and Store
// key, the emulator binary, where the guest finds firmware, and how to read make's
// output (progress, -Werror failures). No git, make or Nix here: the steps in this
// folder read the tree, call these, and run the result.

import { InputError } from "../../common/errors.ts";
import { choiceList } from "../../common/inputs.ts";
import { QemuManifest } from "../../common/manifest.ts";
import { splitArgs } from "../../common/pipeline/args.ts";
import type { IdentityParts } from "../../common/pipeline/identity.ts";
import type { Compiler } from "../../common/pipeline/fields.ts";
import { CUSTOM_LABEL_MAX, storeKey as projectStoreKey } from "../../common/pipeline/label.ts";

export const PROJECT = "qemu";
/**
 * The flat cap on a label (the seed's bound on a custom one); there is no `uname -r`
 * budget as for a kernel, and capLabel keeps a trailing -vN.
 */
export const LABEL_MAX = CUSTOM_LABEL_MAX;
export const DEFAULT_TARGETS: readonly (typeof TARGET_CHOICES)[number][] = ["x86_64-softmmu"];

/**
 * The targets the form offers (a static multiselect: a Windmill multiselect needs its
 * choices up front). The tree decides in the end: configure checks the chosen ones
 * against the checked-out tree's configs/targets/*.mak and lists the valid ones.
 */
export const TARGET_CHOICES = [
  "x86_64-softmmu", "i386-softmmu", "aarch64-softmmu", "arm-softmmu", "riscv64-softmmu", "riscv32-softmmu",
  "ppc64-softmmu", "ppc-softmmu", "s390x-softmmu", "loongarch64-softmmu", "mips64el-softmmu", "mips64-softmmu",
  "mipsel-softmmu", "mips-softmmu", "m68k-softmmu", "sparc64-softmmu", "sparc-softmmu", "alpha-softmmu",
  "hppa-softmmu", "microblaze-softmmu", "microblazeel-softmmu", "or1k-softmmu", "rx-softmmu", "sh4-softmmu",
  "sh4eb-softmmu", "tricore-softmmu", "xtensa-softmmu", "xtensaeb-softmmu", "avr-softmmu",
  "x86_64-linux-user", "i386-linux-user", "aarch64-linux-user", "arm-linux-user", "riscv64-linux-user",
  "ppc64le-linux-user", "s390x-linux-user", "loongarch64-linux-user", "mips64el-linux-user",
  "x86_64-bsd-user", "aarch64-bsd-user",
] as const;

const TARGET_NAME = /^[a-z0-9_]+-(softmmu|linux-user|bsd-user)$/;

// ---------------------------------------------------------------------------------
// Targets

/** The targets a tree offers, from the names in its configs/targets/ folder. */
export function targetsInTree(fileNames: readonly string[]): string[] {
  return fileNames
    .filter((f) => f.endsWith(".mak"))
    .map((f) => f.slice(0, -".mak".length))
    .filter((t) => TARGET_NAME.test(t))
    .sort();
}

/** Every chosen target must exist in the checked-out tree; the error lists the valid ones. */
export function checkTargetsInTree(targets: readonly string[], available: readonly string[]): void {
  const missing = targets.filter((t) => !available.includes(t));
  if (missing.length === 0) return;
  throw new InputError("target_list", available.length ? `targets this tree's configs/targets/ has: ${choiceList(available)}` : "a tree with configs/targets/ (this one has none)", missing.join(","));
}

/** The one argv element configure takes: x86_64-softmmu,aarch64-softmmu. */
export function targetListArg(targets: readonly string[]): string {
  return targets.join(",");
}

/**
 * The emulator the manifest names: qemu-system-x86_64 when x86_64-softmmu is built, else
 * the first system emulator, else the first user-mode one (qemu-<arch>).
 */
export function emulatorName(targets: readonly string[]): string {
  const system = targets.filter((t) => t.endsWith("-softmmu"));
  const pick = system.includes("x86_64-softmmu") ? "x86_64-softmmu" : (system[0] ?? targets[0]);
  if (!pick) throw new Error("emulatorName: no targets");
  const arch = pick.replace(/-(softmmu|linux-user|bsd-user)$/, "");
  return pick.endsWith("-softmmu") ? `qemu-system-${arch}` : `qemu-${arch}`;
}

// ---------------------------------------------------------------------------------
// configure_args: split like words by the shared splitArgs, never interpreted

/**
 * The extra configure flags as arguments: split without a shell (splitArgs), so `;`,
 * `$(...)` and the like stay literal characters of an argument.
 */
export function splitConfigureArgs(text: string | null | undefined): string[] {
  return checkConfigureArgs(splitArgs(text, "configure_args"));
}

/** Options the flow sets itself; passing them again would fight the plan. */
export const RESERVED_OPTIONS = ["--prefix", "--target-list", "--cc", "--cxx", "--objcc", "--extra-cflags", "--extra-ldflags", "--extra-cxxflags"];

export function checkConfigureArgs(args: readonly string[]): string[] {
  for (const a of args) {
    const name = a.split("=")[0]!;
    if (RESERVED_OPTIONS.includes(name)) {
      const why = name === "--prefix" ? "the flow sets --prefix from the identity" : name === "--target-list" ? "use target_list" : "use compiler";
      throw new InputError("configure_args", `extra flags other than ${RESERVED_OPTIONS.join(", ")} (${why})`, a);
    }
  }
  return [...args];
}

// ---------------------------------------------------------------------------------
// configure

/** The --cc/--cxx values: `ccache gcc` is one argument that meson word-splits. */
export function compilerCommands(compiler: Compiler, ccache: boolean): { cc: string; cxx: string } {
  const [cc, cxx] = compiler === "clang" ? ["clang", "clang++"] : ["gcc", "g++"];
  return ccache ? { cc: `ccache ${cc}`, cxx: `ccache ${cxx}` } : { cc, cxx };
}

export interface ConfigurePlan {
  /** The source root (the worktree). */
  src: string;
  /** The install prefix: <destdir>/<version>-<label>-<identity>. */
  prefix: string;
  targets: readonly string[];
  compiler: Compiler;
  ccache: boolean;
  /** From splitConfigureArgs, already checked. */
  extraArgs: readonly string[];
  /** Whether this tree's configure knows --disable-download (QEMU 8.1 and later). */
  disableDownload: boolean;
}

/**
 * The extra C flags the flow adds. `-fdebug-prefix-map=<src>=.` makes the debug info
 * name sources relative to the tree, so the binary does not depend on which slot built
 * it, and ccache (base_dir = the slot) then leaves the working directory out of its
 * hash: two slots, or two Workbenches, share cache hits. Clang also gets
 * -Qunused-arguments (the dev shell's GCC-oriented flags make it warn on link steps).
 */
export function extraCflags(p: { src: string; compiler: Compiler }): string[] {
  const flags = [`-fdebug-prefix-map=${p.src}=.`];
  if (p.compiler === "clang") flags.unshift("-Qunused-arguments");
  return flags;
}

/** The configure command line, run in build/. */
export function configureArgv(p: ConfigurePlan): string[] {
  const { cc, cxx } = compilerCommands(p.compiler, p.ccache);
  const argv = [`${p.src}/configure`, `--target-list=${targetListArg(p.targets)}`, `--prefix=${p.prefix}`, `--cc=${cc}`, `--cxx=${cxx}`];
  if (p.disableDownload) argv.push("--disable-download");
  argv.push(`--extra-cflags=${extraCflags(p).join(" ")}`);
  if (p.compiler === "clang") argv.push("--extra-ldflags=-Qunused-arguments");
  return [...argv, ...p.extraArgs];
}

/** True when the tree's configure script accepts --disable-download. */
export function supportsDisableDownload(configureText: string): boolean {
  return /--disable-download\b/.test(configureText);
}

/** True when subprojects/ holds meson wrap files, so `meson subprojects download` has work. */
export function hasSubprojectWraps(subprojectFiles: readonly string[]): boolean {
  return subprojectFiles.some((f) => f.endsWith(".wrap"));
}

/** The version from the tree's VERSION file (the analog of the kernel version). */
export function parseVersionFile(text: string): string {
  const v = text.trim();
  if (!/^\d+\.\d+\.\d+(\.\d+)?(-rc\d+)?$/.test(v) && !/^\d+\.\d+\.\d+$/.test(v)) {
    throw new Error(`not a QEMU VERSION file: ${JSON.stringify(text.slice(0, 40))}`);
  }
  return v;
}

// ---------------------------------------------------------------------------------
// Names

/** destdir/<version>-<label>-<identity>: the install prefix's last component. */
export function installName(version: string, label: string, identity: string): string {
  return `${version}-${label}-${identity}`;
}

/** The Store key: qemu-<version>-<label>-<identity>. */
export function storeKey(version: string, label: string, identity: string): string {
  return projectStoreKey(PROJECT, version, label, identity);
}

/**
 * What the identity hashes for a make build: the target list, the configure flags, the
 * compiler, the dev shell's derivation and the source tree. Not the label (a name), not
 * ccache (a cache does not change the output).
 */
export function makeIdentityParts(p: {
  targets: readonly string[];
  configureArgs: readonly string[];
  compiler: Compiler;
  devshellDrv: string;
  tree: string;
}): IdentityParts {
  return {
    project: PROJECT,
    method: "make",
    target_list: targetListArg(p.targets),
    configure_args: [...p.configureArgs],
    compiler: p.compiler,
    devshell: p.devshellDrv,
    tree: p.tree,
  };
}

/** For a Nix-package build the derivation names everything that decides the output. */
export function nixIdentityParts(p: { drvPath: string }): IdentityParts {
  return { project: PROJECT, method: "nix", drv: p.drvPath };
}

// ---------------------------------------------------------------------------------
// make's output

/** ninja's `[n/N] ...` status line (make drives ninja), as done/total. */
export function ninjaProgress(line: string): { done: number; total: number } | null {
  const m = /^\s*\[(\d+)\/(\d+)\]\s/.exec(line);
  if (!m) return null;
  const done = Number(m[1]);
  const total = Number(m[2]);
  return total > 0 && done <= total ? { done, total } : null;
}

/**
 * True when the output shows a warning turned into an error: GCC's `[-Werror=foo]` and
 * `warnings being treated as errors`, Clang's `[-Werror,-Wfoo]`, or a bare `[-Werror]`.
 * A `-Werror` inside a printed compiler command line does not count: every QEMU
 * compile command carries it, failing or not.
 */
export function showsWerror(lines: readonly string[]): boolean {
  return lines.some((l) => /\[-Werror(?:[=,][^\]]*)?\]/.test(l) || /warnings being treated as errors/.test(l));
}

export function werrorAdvice(qemuRef: string): string {
  return (
    `the QEMU build of ${qemuRef} failed on a compiler warning turned into an error (-Werror), as a ref older than the ` +
    `dev shell's compiler or libraries often does. Pass configure_args: --disable-werror, or build a newer qemu_ref.`
  );
}

// ---------------------------------------------------------------------------------
// Firmware

/** Firmware the guest layer needs at least: SeaBIOS for a PC machine. */
export const PC_BIOS_FILES = ["bios-256k.bin", "bios.bin"];

/**
 * Where the guest finds firmware and option ROMs (`-L`, in order): the install's own
 * share/qemu first; when that has no PC BIOS (a source that does not ship firmware, such
 * as Debian's, whose build skips pc-bios/) the host's firmware folders that exist follow.
 */
export function firmwareDirs(p: { installDataDir: string; installHasBios: boolean; hostDirs: readonly string[] }): string[] {
  return p.installHasBios ? [p.installDataDir] : [p.installDataDir, ...p.hostDirs.filter((d) => d !== p.installDataDir)];
}

/** Host folders holding SeaBIOS, iPXE ROMs and QEMU's data files (Debian's packages). */
export const HOST_FIRMWARE_DIRS = ["/usr/share/seabios", "/usr/lib/ipxe/qemu", "/usr/share/qemu"];

// ---------------------------------------------------------------------------------
// The manifest

/** The as-built manifest of a make build, before publish rebases it into the Store. */
export function makeManifest(b: {
  prefix: string;
  targets: readonly string[];
  version: string;
  commit: string;
  ref: string;
  identity: string;
  label: string;
  store_key: string;
  firmwareDirs: string[];
  hasQemuImg: boolean;
  builtAt: string;
}): QemuManifest {
  return {
    kind: "qemu",
    method: "make",
    qemu_binary: `${b.prefix}/bin/${emulatorName(b.targets)}`,
    version: b.version,
    target_list: targetListArg(b.targets),
    commit: b.commit,
    ref: b.ref,
    destdir: b.prefix,
    identity: b.identity,
    label: b.label,
    store_path: null,
    store_key: b.store_key,
    firmware_dirs: b.firmwareDirs,
    qemu_img: b.hasQemuImg ? `${b.prefix}/bin/qemu-img` : null,
    reused: false,
    built_at: b.builtAt,
  };
}
