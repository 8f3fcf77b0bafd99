// The kernel build, planned. Pure functions that decide what the steps run and what
// they call things: input validation, the config methods (base targets, the imageless
// preset, fragments and their fixed merge order), reading a .config and checking that
// every requested option survived olddefconfig, the identity parts, the label budget
// and kernelrelease, the make command lines, and compile progress. No git, make or Nix
// here: the steps in this folder read the tree, call these, and run the result.

import { InputError } from "../../common/errors.ts";
import { splitArgs } from "../../common/pipeline/args.ts";
import { contentDigest, type IdentityParts } from "../../common/pipeline/identity.ts";
import { capLabel } from "../../common/pipeline/label.ts";
import { checkCcacheSize } from "../../common/devshell/ccache.ts";

export const PROJECT = "linux";
export const STORE_PROJECT = "kernel";
export const KERNELRELEASE_MAX = 64;
export const IDENTITY_HEX = 12;

export const CONFIG_METHODS = ["make_target", "preset", "fragments"] as const;
export type ConfigMethod = (typeof CONFIG_METHODS)[number];
export const COMPILERS = ["gcc", "clang"] as const;
export type Compiler = (typeof COMPILERS)[number];
export const ARCHES = ["x86_64", "arm64"] as const;
export type Arch = (typeof ARCHES)[number];
export const PRESETS = ["imageless"] as const;
export type Preset = (typeof PRESETS)[number];

// ---------------------------------------------------------------------------------
// Architectures

export interface ArchSpec {
  /** ARCH= for make. */
  makeArch: string;
  /** The folder under arch/. */
  srcArch: string;
  /** The image target and where make leaves it, relative to the build dir. */
  imageTarget: string;
  imagePath: string;
  /** The file name under destdir/boot/ (the release is appended). */
  installName: string;
  /** CROSS_COMPILE= when the host is another architecture, and the gcc it implies. */
  crossCompile: string | null;
  /** The machine this architecture is native on (process.arch names). */
  nativeOn: string;
}

export const ARCH_SPECS: Record<Arch, ArchSpec> = {
  x86_64: { makeArch: "x86_64", srcArch: "x86", imageTarget: "bzImage", imagePath: "arch/x86/boot/bzImage", installName: "vmlinuz", crossCompile: "x86_64-linux-gnu-", nativeOn: "x64" },
  arm64: { makeArch: "arm64", srcArch: "arm64", imageTarget: "Image", imagePath: "arch/arm64/boot/Image", installName: "Image", crossCompile: "aarch64-linux-gnu-", nativeOn: "arm64" },
};

/** The cross prefix an arch needs on this host, or null when it is native. */
export function crossPrefix(arch: Arch, hostArch: string = process.arch): string | null {
  const spec = ARCH_SPECS[arch];
  return spec.nativeOn === hostArch ? null : spec.crossCompile;
}

// ---------------------------------------------------------------------------------
// Inputs

export interface KernelInputs {
  git_ref: string;
  b4_series: string;
  custom_label: boolean;
  label: string;
  config_method: ConfigMethod;
  make_target: string;
  preset: Preset;
  fragments: string[];
  arch: Arch;
  compiler: Compiler;
  ccache: boolean;
  ccache_max_size: string;
  compile_commands: boolean;
  make_args: string;
  reproducible: boolean;
  shared: boolean;
  reuse: boolean;
  recreate_worktree: boolean;
  wipe_build: boolean;
  nixos_flake: string;
}

export const DEFAULT_INPUTS: KernelInputs = {
  git_ref: "",
  b4_series: "",
  custom_label: false,
  label: "",
  config_method: "make_target",
  make_target: "defconfig",
  preset: "imageless",
  fragments: [],
  arch: "x86_64",
  compiler: "gcc",
  ccache: true,
  ccache_max_size: "10G",
  compile_commands: true,
  make_args: "",
  reproducible: true,
  shared: false,
  reuse: true,
  recreate_worktree: false,
  wipe_build: false,
  nixos_flake: "",
};

/** Make variables kdevflow sets itself; make_args may not override them. */
export const RESERVED_MAKE_VARS = ["O", "ARCH", "CC", "LLVM", "CROSS_COMPILE", "LOCALVERSION", "INSTALL_PATH", "INSTALL_MOD_PATH", "KBUILD_BUILD_TIMESTAMP", "KBUILD_BUILD_USER", "KBUILD_BUILD_HOST", "KCONFIG_CONFIG"];

export interface CheckedMakeArgs {
  argv: string[];
}

/**
 * make_args split without a shell. Each word reaches make as one literal argument;
 * variables kdevflow sets (O=, ARCH=, LOCALVERSION=, ...) and options that would
 * change the build dir or the makefile are refused.
 */
export function checkMakeArgs(text: string): string[] {
  const argv = splitArgs(text, "make_args");
  for (const arg of argv) {
    const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(arg)?.[1];
    if (name && RESERVED_MAKE_VARS.includes(name)) {
      throw new InputError("make_args", `no ${name}= (kdevflow sets ${RESERVED_MAKE_VARS.join(", ")} itself)`, arg);
    }
    if (/^(-C|--directory|-f|--file|--makefile|-j|--jobs)(=|$)/.test(arg) || /^-[Cfj]./.test(arg)) {
      throw new InputError("make_args", "no -C, -f or -j (kdevflow picks the directories and the job count)", arg);
    }
  }
  return argv;
}

const MESSAGE_ID = /^<?[^\s<>@]+@[^\s<>@]+>?$/;

export type SeriesSource = { kind: "none" } | { kind: "msgid"; msgid: string } | { kind: "mbox"; path: string };

/** b4_series: empty, a message-id (with or without <>), or an absolute mbox path. */
export function parseSeries(value: string): SeriesSource {
  const v = (value ?? "").trim();
  if (!v) return { kind: "none" };
  if (v.startsWith("/")) return { kind: "mbox", path: v };
  if (MESSAGE_ID.test(v)) return { kind: "msgid", msgid: v.replace(/^<|>$/g, "") };
  throw new InputError("b4_series", "a message-id (id@host) or the absolute path of a local mbox", v);
}

const FRAGMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** Everything about the inputs that can be checked without the tree. */
export function checkInputs(raw: Partial<KernelInputs>): KernelInputs & { make_argv: string[]; series: SeriesSource } {
  const i: KernelInputs = { ...DEFAULT_INPUTS, ...Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== null)) } as KernelInputs;
  if (typeof i.git_ref !== "string" || !i.git_ref.trim()) throw new InputError("git_ref", "a tag, branch or commit of the linux Bare", i.git_ref);
  if (!CONFIG_METHODS.includes(i.config_method)) throw new InputError("config_method", `one of ${CONFIG_METHODS.join(", ")}`, i.config_method);
  if (!COMPILERS.includes(i.compiler)) throw new InputError("compiler", `one of ${COMPILERS.join(", ")}`, i.compiler);
  if (!ARCHES.includes(i.arch)) throw new InputError("arch", `one of ${ARCHES.join(", ")}`, i.arch);
  if (!PRESETS.includes(i.preset)) throw new InputError("preset", `one of ${PRESETS.join(", ")}`, i.preset);
  if (typeof i.make_target !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(i.make_target)) {
    throw new InputError("make_target", "a make config target such as defconfig, tinyconfig or x86_64_defconfig", i.make_target);
  }
  if (!Array.isArray(i.fragments)) throw new InputError("fragments", "a list of fragment names or fragment file paths", i.fragments);
  for (const f of i.fragments) {
    if (typeof f !== "string" || !(f.startsWith("/") || FRAGMENT_NAME.test(f))) {
      throw new InputError("fragments", "upstream fragment names (kvm_guest.config), project fragment names or absolute paths of fragment files", f);
    }
  }
  if (i.config_method === "fragments" && i.fragments.length === 0) throw new InputError("fragments", "at least one fragment when config_method is fragments", "an empty list");
  checkCcacheSize(i.ccache_max_size);
  const make_argv = checkMakeArgs(i.make_args ?? "");
  const series = parseSeries(i.b4_series ?? "");
  return { ...i, make_argv, series };
}

// ---------------------------------------------------------------------------------
// Config methods

/** Config targets that make a whole .config from nothing (non-interactive ones). */
export const GENERIC_BASE_TARGETS = ["defconfig", "tinyconfig", "allnoconfig", "allyesconfig", "allmodconfig", "alldefconfig", "randconfig"];

/** The base targets a tree offers: the generic ones and arch/<srcarch>/configs/*_defconfig. */
export function baseTargets(archConfigFiles: readonly string[]): string[] {
  const fromArch = archConfigFiles.filter((f) => /_defconfig$/.test(f) || f === "defconfig").filter((f) => f !== "defconfig");
  return [...GENERIC_BASE_TARGETS, ...fromArch.sort()];
}

export function checkMakeTarget(target: string, available: readonly string[]): string {
  if (!available.includes(target)) throw new InputError("make_target", `one of ${available.join(", ")}`, target);
  return target;
}

/**
 * The `imageless` preset: what an imageless NixOS guest needs built in. The guest has
 * no disk image: its root is the host's /nix/store over virtiofs, its modules come over
 * virtiofs, its console is serial or virtio, and systemd runs as init.
 */
export const IMAGELESS_PRESET: Record<string, string> = {
  // virtio transport and devices
  PCI: "y",
  VIRTIO_MENU: "y",
  VIRTIO: "y",
  VIRTIO_PCI: "y",
  VIRTIO_BLK: "y",
  VIRTIO_NET: "y",
  VIRTIO_CONSOLE: "y",
  VIRTIO_BALLOON: "y",
  HW_RANDOM_VIRTIO: "y",
  // shared filesystems: virtiofs and 9p
  FUSE_FS: "y",
  VIRTIO_FS: "y",
  NET: "y",
  INET: "y",
  UNIX: "y",
  NET_9P: "y",
  NET_9P_VIRTIO: "y",
  "9P_FS": "y",
  "9P_FS_POSIX_ACL": "y",
  // consoles and power-off
  TTY: "y",
  SERIAL_8250: "y",
  SERIAL_8250_CONSOLE: "y",
  ACPI: "y",
  // boot
  BLK_DEV_INITRD: "y",
  DEVTMPFS: "y",
  DEVTMPFS_MOUNT: "y",
  TMPFS: "y",
  TMPFS_POSIX_ACL: "y",
  TMPFS_XATTR: "y",
  PROC_FS: "y",
  SYSFS: "y",
  BINFMT_ELF: "y",
  BINFMT_SCRIPT: "y",
  // what systemd requires
  CGROUPS: "y",
  MEMCG: "y",
  CGROUP_SCHED: "y",
  CGROUP_PIDS: "y",
  INOTIFY_USER: "y",
  SIGNALFD: "y",
  TIMERFD: "y",
  EPOLL: "y",
  FHANDLE: "y",
  AUTOFS_FS: "y",
  SECCOMP: "y",
  // loadable modules over the /lib/modules share
  MODULES: "y",
};

/** Options kdevflow sets on every build: the release name is kdevflow's to decide. */
export const KDEVFLOW_OPTIONS: Record<string, string> = {
  LOCALVERSION_AUTO: "n",
};

export function renderFragment(options: Record<string, string>, title: string): string {
  const lines = [`# ${title} (written by kdevflow)`];
  for (const [name, value] of Object.entries(options)) {
    lines.push(value === "n" ? `# CONFIG_${name} is not set` : `CONFIG_${name}=${value}`);
  }
  return `${lines.join("\n")}\n`;
}

export type ConfigValues = Map<string, string>;

/**
 * Read a .config or a fragment: `CONFIG_X=value` lines and `# CONFIG_X is not set`
 * lines (value "n"). Later lines win, as in Kconfig.
 */
export function parseConfig(text: string): ConfigValues {
  const values: ConfigValues = new Map();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const set = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) {
      values.set(set[1]!, set[2]!);
      continue;
    }
    const unset = /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, "n");
  }
  return values;
}

/** The requested options of several fragments merged in order (later wins). */
export function mergeRequested(fragments: readonly string[]): ConfigValues {
  const out: ConfigValues = new Map();
  for (const text of fragments) for (const [k, v] of parseConfig(text)) out.set(k, v);
  return out;
}

export interface DroppedOption {
  option: string;
  wanted: string;
  got: string;
}

/**
 * Options asked for that the final .config does not have: olddefconfig drops an
 * option whose dependencies are not met, silently. `m` is satisfied by `y` (built in
 * is at least as present); `n` by an unset option.
 */
export function droppedOptions(requested: ConfigValues, final: ConfigValues): DroppedOption[] {
  const dropped: DroppedOption[] = [];
  for (const [option, wanted] of requested) {
    const got = final.get(option) ?? "n";
    const ok = wanted === got || (wanted === "m" && got === "y");
    if (!ok) dropped.push({ option: `CONFIG_${option}`, wanted, got: final.has(option) ? got : "not set" });
  }
  return dropped;
}

export function droppedMessage(dropped: readonly DroppedOption[], method: string): string {
  const list = dropped.map((d) => `${d.option} (asked ${d.wanted}, got ${d.got})`).join(", ");
  return `configure (${method}): olddefconfig dropped ${dropped.length === 1 ? "an option" : `${dropped.length} options`} that ${dropped.length === 1 ? "was" : "were"} asked for: ${list}; enable ${dropped.length === 1 ? "its" : "their"} dependencies too`;
}

/** The .config as it goes into the identity: options only, CONFIG_LOCALVERSION left out. */
export function identityConfigText(configText: string): string {
  const keep: string[] = [];
  for (const raw of configText.split("\n")) {
    const line = raw.trim();
    if (/^CONFIG_LOCALVERSION=/.test(line)) continue;
    if (/^CONFIG_[A-Za-z0-9_]+=/.test(line) || /^# CONFIG_[A-Za-z0-9_]+ is not set$/.test(line)) keep.push(line);
  }
  return `${keep.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------
// Identity, label, kernelrelease

export interface KernelIdentityInputs {
  configText: string;
  compiler: Compiler;
  makeArgv: readonly string[];
  arch: Arch;
  devshellDrv: string;
  sourceTree: string;
  reproducible: boolean;
}

export function kernelIdentityParts(i: KernelIdentityInputs): IdentityParts {
  return {
    project: STORE_PROJECT,
    config: contentDigest(identityConfigText(i.configText)),
    compiler: i.compiler,
    make_args: [...i.makeArgv],
    arch: i.arch,
    devshell: i.devshellDrv,
    tree: i.sourceTree,
    reproducible: i.reproducible ? "yes" : "no",
  };
}

/**
 * The label budget: `uname -r` is `<base>-<label>-<identity>` and must fit in 64
 * characters; `base` is the release make prints without a LOCALVERSION (e.g. 6.1.192).
 */
export function labelBudget(base: string): number {
  return KERNELRELEASE_MAX - base.length - 2 - IDENTITY_HEX;
}

export interface ReleasePlan {
  label: string;
  localversion: string;
  kernelrelease: string;
}

/** Shorten the label to fit and name the release. Never cuts the identity or a -vN. */
export function planRelease(base: string, label: string, identity: string): ReleasePlan {
  const budget = labelBudget(base);
  if (budget < 1) throw new Error(`the kernel release ${base} leaves no room for a label within ${KERNELRELEASE_MAX} characters`);
  const capped = capLabel(label, budget);
  const localversion = `-${capped}-${identity}`;
  return { label: capped, localversion, kernelrelease: `${base}${localversion}` };
}

/**
 * KERNELVERSION as the top Makefile computes it: VERSION.PATCHLEVEL.SUBLEVEL then
 * EXTRAVERSION (a missing PATCHLEVEL or SUBLEVEL drops its part).
 */
export function kernelVersionFromMakefile(makefile: string): string {
  const get = (name: string): string => new RegExp(`^${name}[ \\t]*=[ \\t]*(.*)$`, "m").exec(makefile)?.[1]?.trim() ?? "";
  const version = get("VERSION");
  if (!/^\d+$/.test(version)) throw new Error("not a kernel tree: its Makefile has no numeric VERSION");
  const patchlevel = get("PATCHLEVEL");
  const sublevel = get("SUBLEVEL");
  return `${version}${patchlevel ? `.${patchlevel}${sublevel ? `.${sublevel}` : ""}` : ""}${get("EXTRAVERSION")}`;
}

/** A string option's value as kconfig writes it in .config, unquoted and unescaped. */
export function configString(values: ConfigValues, name: string): string {
  const raw = values.get(name);
  if (raw === undefined || raw === "n") return "";
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(raw);
  return m ? m[1]!.replace(/\\(.)/g, "$1") : raw;
}

/**
 * The release base, as scripts/setlocalversion builds it with LOCALVERSION_AUTO off and
 * before LOCALVERSION: KERNELVERSION, the localversion* files of the build dir and then
 * of the source tree (their text without trailing newlines), then CONFIG_LOCALVERSION.
 * The compile step checks the kernel it built says the same.
 */
export function releaseBase(kernelversion: string, localversionFiles: readonly string[], configLocalversion: string): string {
  return `${kernelversion}${localversionFiles.map((t) => t.replace(/\n+$/, "")).join("")}${configLocalversion}`;
}

/** localversion* file names in one folder, in the order the shell's glob gives them. */
export function localversionNames(names: readonly string[]): string[] {
  return names.filter((n) => n.startsWith("localversion") && !n.includes("~")).sort();
}

// ---------------------------------------------------------------------------------
// make command lines

export interface MakeContext {
  src: string;
  build: string;
  arch: Arch;
  compiler: Compiler;
  ccache: boolean;
  jobs: number;
  localversion?: string;
  /** KBUILD_BUILD_TIMESTAMP etc. when reproducible. */
  reproducibleVars?: Record<string, string>;
  makeArgv: readonly string[];
  hostArch?: string;
}

/** The variables every make call of one build shares, in a fixed order. */
export function makeVariables(c: MakeContext): string[] {
  const spec = ARCH_SPECS[c.arch];
  const vars = [`O=${c.build}`, `ARCH=${spec.makeArch}`];
  const cross = crossPrefix(c.arch, c.hostArch);
  if (c.compiler === "clang") {
    vars.push("LLVM=1");
    if (c.ccache) vars.push("CC=ccache clang");
  } else {
    if (cross) vars.push(`CROSS_COMPILE=${cross}`);
    if (c.ccache) vars.push(`CC=ccache ${cross ?? ""}gcc`);
  }
  if (c.localversion !== undefined) vars.push(`LOCALVERSION=${c.localversion}`);
  for (const [k, v] of Object.entries(c.reproducibleVars ?? {})) vars.push(`${k}=${v}`);
  return vars;
}

export function makeArgv(c: MakeContext, targets: readonly string[], opts: { jobs?: boolean; silent?: boolean } = {}): string[] {
  const argv = ["make", "-C", c.src];
  if (opts.silent) argv.push("-s");
  if (opts.jobs) argv.push(`-j${c.jobs}`);
  return [...argv, ...makeVariables(c), ...c.makeArgv, ...targets];
}

export function reproducibleVars(commitDate: string): Record<string, string> {
  return { KBUILD_BUILD_TIMESTAMP: commitDate, KBUILD_BUILD_USER: "kdevflow", KBUILD_BUILD_HOST: "kdevflow" };
}

/** The compiler binary whose presence decides whether an arch can be built. */
export function toolchainProbe(arch: Arch, compiler: Compiler, hostArch: string = process.arch): string {
  if (compiler === "clang") return "clang";
  const cross = crossPrefix(arch, hostArch);
  return `${cross ?? ""}gcc`;
}

// ---------------------------------------------------------------------------------
// Compile progress

/** A compile line in kbuild's short output: `  CC      init/main.o`, `  CC [M]  fs/x.o`. */
export function isCompileLine(line: string): boolean {
  return /^\s+CC( \[M\])?\s+\S/.test(line);
}

/**
 * How many compile lines to expect: the count of the last build in this build dir
 * when known, else a rough guess from the number of enabled options.
 */
export function estimateCompileUnits(lastCount: number | null, configText: string): number {
  if (lastCount && lastCount > 0) return lastCount;
  let enabled = 0;
  for (const v of parseConfig(configText).values()) if (v === "y" || v === "m") enabled++;
  return Math.max(200, Math.round(enabled * 2.2));
}

/**
 * Merge fragments onto a base .config in the order given: a symbol a fragment sets
 * loses its earlier line, and the fragment's line is appended (what the kernel's
 * merge_config.sh does). olddefconfig then resolves dependencies.
 */
export function mergeConfigText(base: string, fragments: readonly { name: string; text: string }[]): string {
  let lines = base.split("\n").filter((l, i, all) => !(i === all.length - 1 && l === ""));
  for (const f of fragments) {
    const sets = parseConfig(f.text);
    if (sets.size === 0) continue;
    lines = lines.filter((l) => {
      const sym = /^CONFIG_([A-Za-z0-9_]+)=/.exec(l)?.[1] ?? /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(l)?.[1];
      return !(sym && sets.has(sym));
    });
    lines.push(`# merged by kdevflow from ${f.name}`);
    for (const [sym, value] of sets) lines.push(value === "n" ? `# CONFIG_${sym} is not set` : `CONFIG_${sym}=${value}`);
  }
  return `${lines.join("\n")}\n`;
}
