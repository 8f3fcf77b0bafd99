// The kernel .config, planned: the config methods (base targets, the imageless preset,
// fragments merged in a fixed order), reading a .config, and checking that every
// requested option survived olddefconfig. Pure.

import { InputError } from "../../common/errors.ts";
import { choiceList } from "../../common/inputs.ts";

export const CONFIG_METHODS = ["make_target", "preset", "fragments"] as const;
export type ConfigMethod = (typeof CONFIG_METHODS)[number];
export const PRESETS = ["imageless"] as const;
export type Preset = (typeof PRESETS)[number];

/** Config targets that make a whole .config from nothing (non-interactive ones). */
export const GENERIC_BASE_TARGETS = ["defconfig", "tinyconfig", "allnoconfig", "allyesconfig", "allmodconfig", "alldefconfig", "randconfig"];

/** The base targets a tree offers: the generic ones and arch/<srcarch>/configs/*_defconfig. */
export function baseTargets(archConfigFiles: readonly string[]): string[] {
  const fromArch = archConfigFiles.filter((f) => /_defconfig$/.test(f) || f === "defconfig").filter((f) => f !== "defconfig");
  return [...GENERIC_BASE_TARGETS, ...fromArch.sort()];
}

export function checkMakeTarget(target: string, available: readonly string[]): string {
  if (!available.includes(target)) throw new InputError("make_target", `a config target this tree has: ${choiceList(available)}`, target);
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

/** A string option's value as kconfig writes it in .config, unquoted and unescaped. */
export function configString(values: ConfigValues, name: string): string {
  const raw = values.get(name);
  if (raw === undefined || raw === "n") return "";
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(raw);
  return m ? m[1]!.replace(/\\(.)/g, "$1") : raw;
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
