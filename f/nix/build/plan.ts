// The closure plan: the flow's raw inputs checked and completed into one plain object
// that the renderer turns into flake.nix and default.nix. Pure: nothing here touches
// the disk or runs a command, so every rule is unit-tested with literal inputs. Bad
// input raises InputError naming the field, before render_config writes anything.

import { posix } from "node:path";
import { InputError } from "../../common/errors.ts";
import { checkName, type WorkbenchLayout } from "../../common/layout.ts";
import { flakeRefProblem, resolveFlake } from "../../common/nix.ts";
import { tagFromTarget, tagProblem } from "../../common/shares.ts";
import {
  DEFAULT_PROFILES,
  DEFAULT_USER,
  GATED_PROFILES,
  PROFILES,
  RESERVED_MOUNT_POINTS,
  TEST_SUITES,
  type Profile,
  type TestSuite,
} from "./catalog.ts";

export interface ShareInput {
  source: string;
  target?: string | null;
  tag?: string | null;
  read_only?: boolean | null;
}

export interface SourceOverrideInput {
  package: string;
  url: string;
}

export interface ClosureInputs {
  vm: string;
  nixos_flake?: string | null;
  profiles?: readonly string[] | null;
  test_suites?: readonly string[] | null;
  shares?: readonly ShareInput[] | null;
  ssh_keys?: readonly string[] | null;
  hostname?: string | null;
  user?: string | null;
  source_overrides?: readonly SourceOverrideInput[] | null;
}

export interface Share {
  tag: string;
  /** Host directory (absolute), exported by the boot flow's virtiofsd. */
  source: string;
  /** Where the guest mounts it (absolute). */
  target: string;
  readOnly: boolean;
}

export interface SourceOverride {
  package: string;
  /** The flake input's name in the rendered flake.nix. */
  input: string;
  url: string;
}

export interface ClosurePlan {
  vm: string;
  /** The library's flake reference (path:/... for the vendored copy). */
  library: string;
  profiles: Profile[];
  testSuites: TestSuite[];
  /** True when a gated profile is selected: render emits the gate option. */
  gateOn: boolean;
  shares: Share[];
  sshKeys: string[];
  hostname: string;
  user: string;
  sourceOverrides: SourceOverride[];
}

/** Selections keep the catalog's order and lose duplicates, so equal choices render equally. */
function pickFromCatalog<T extends string>(field: string, catalog: readonly T[], given: readonly string[] | null | undefined, fallback: readonly T[]): T[] {
  if (given === undefined || given === null) return [...fallback];
  if (!Array.isArray(given)) throw new InputError(field, `a list drawn from ${catalog.join(", ")}`, given);
  for (const item of given) {
    if (typeof item !== "string" || !(catalog as readonly string[]).includes(item)) {
      throw new InputError(field, `each entry to be one of ${catalog.join(", ")}`, item);
    }
  }
  return catalog.filter((c) => given.includes(c));
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function checkHostname(value: string): string {
  if (typeof value !== "string" || !HOSTNAME.test(value)) {
    throw new InputError("hostname", "a host name of 1 to 63 letters, digits or '-', not starting or ending with '-' (no dots)", value);
  }
  return value;
}

/** The default host name: the VM name with what a host name cannot hold turned into '-'. */
export function hostnameFromVm(vm: string): string {
  const slug = vm.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return slug || "nixos";
}

const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

export function checkUser(value: string): string {
  if (typeof value !== "string" || !USER.test(value) || value === "root") {
    throw new InputError("user", "a login name of at most 32 lowercase letters, digits, '_' or '-', starting with a letter or '_', other than root", value);
  }
  return value;
}

/** Public key algorithms OpenSSH accepts in authorized_keys. */
export const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ssh-dss",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
] as const;

/**
 * One OpenSSH public key line: `<type> <base64 blob> [comment]`, where the blob decodes
 * to a key whose first field names the same type. A private key, a fingerprint, a
 * truncated paste or a key with authorized_keys options is refused. The comment may hold
 * any printable text (it is escaped when written into Nix).
 */
export function checkSshKey(value: unknown, index: number, list = "ssh_keys"): string {
  const field = `${list}[${index}]`;
  const expected = "an OpenSSH public key line ('<type> <base64 key> [comment]')";
  if (typeof value !== "string") throw new InputError(field, expected, value);
  const line = value.trim();
  if (/[\r\n\0]/.test(line)) throw new InputError(field, `${expected} on one line`, value);
  if (line.includes("PRIVATE KEY")) throw new InputError(field, `${expected}, not a private key`);
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: (.*))?$/.exec(line);
  if (!m) throw new InputError(field, expected, value);
  const [, type, blob] = m as unknown as [string, string, string];
  if (!(SSH_KEY_TYPES as readonly string[]).includes(type)) {
    throw new InputError(field, `${expected} (a key type among ${SSH_KEY_TYPES.join(", ")})`, value);
  }
  const bytes = Buffer.from(blob, "base64");
  if (bytes.length < 4 + type.length + 4) throw new InputError(field, `${expected} (its key data is too short)`, value);
  const nameLength = bytes.readUInt32BE(0);
  const name = bytes.subarray(4, 4 + nameLength).toString("latin1");
  if (nameLength !== type.length || name !== type) {
    throw new InputError(field, `${expected} (its key data does not hold a ${type} key)`, value);
  }
  return line;
}

function checkAbsolutePath(field: string, value: unknown, what: string): string {
  if (typeof value !== "string" || !value.startsWith("/") || /[\0\r\n]/.test(value)) {
    throw new InputError(field, `an absolute path for ${what}`, value);
  }
  const normal = posix.normalize(value).replace(/(.)\/+$/, "$1");
  return normal;
}

export function checkShares(given: readonly ShareInput[] | null | undefined, list = "shares"): Share[] {
  if (given === undefined || given === null) return [];
  if (!Array.isArray(given)) throw new InputError(list, "a list of {source, target?, tag?, read_only?}", given);
  const shares: Share[] = [];
  given.forEach((raw, i) => {
    const field = `${list}[${i}]`;
    if (!raw || typeof raw !== "object") throw new InputError(field, "an object {source, target?, tag?, read_only?}", raw);
    const source = checkAbsolutePath(`${field}.source`, raw.source, "the host directory to share");
    const target = checkAbsolutePath(`${field}.target`, raw.target || source, "the guest mount point");
    if (/\s/.test(target)) throw new InputError(`${field}.target`, "a guest mount point without spaces", target);
    if (target === "/" || RESERVED_MOUNT_POINTS.some((r) => target === r || target.startsWith(`${r}/`))) {
      throw new InputError(`${field}.target`, `a guest mount point outside /, ${RESERVED_MOUNT_POINTS.join(", ")}`, target);
    }
    const tag = raw.tag || tagFromTarget(target);
    const bad = tagProblem(tag);
    if (bad) throw new InputError(`${field}.tag`, bad, tag);
    if (raw.read_only !== undefined && raw.read_only !== null && typeof raw.read_only !== "boolean") {
      throw new InputError(`${field}.read_only`, "true or false", raw.read_only);
    }
    const clash = shares.find((s) => s.tag === tag || s.target === target);
    if (clash) throw new InputError(field, `a tag and mount point no other share uses (shares ${clash.tag} at ${clash.target})`, tag);
    shares.push({ tag, source, target, readOnly: raw.read_only === true });
  });
  return shares;
}

const PACKAGE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function checkSourceOverrides(given: readonly SourceOverrideInput[] | null | undefined, list = "source_overrides"): SourceOverride[] {
  if (given === undefined || given === null) return [];
  if (!Array.isArray(given)) throw new InputError(list, "a list of {package, url}", given);
  const out: SourceOverride[] = [];
  given.forEach((raw, i) => {
    const field = `${list}[${i}]`;
    if (!raw || typeof raw !== "object") throw new InputError(field, "an object {package, url}", raw);
    if (typeof raw.package !== "string" || !PACKAGE.test(raw.package)) {
      throw new InputError(`${field}.package`, "a package name of lowercase letters, digits, '_' or '-'", raw.package);
    }
    if (out.some((o) => o.package === raw.package)) throw new InputError(`${field}.package`, "each package overridden once", raw.package);
    let url = typeof raw.url === "string" ? raw.url.trim() : raw.url;
    if (typeof url !== "string" || url === "" || flakeRefProblem(url) !== null) {
      throw new InputError(`${field}.url`, "a flake reference such as git+https://host/repo?ref=branch, github:owner/repo or an absolute path", raw.url);
    }
    if (url.startsWith("/")) url = `path:${url}`;
    out.push({ package: raw.package, input: `${raw.package}-src`, url });
  });
  return out;
}

/** Check and complete the inputs. Throws InputError on the first bad field. */
export function planClosure(inputs: ClosureInputs, env: Record<string, string | undefined> = process.env): ClosurePlan {
  const vm = checkName("vm", inputs.vm);
  const library = resolveFlake(inputs.nixos_flake, env);
  if (/\s/.test(library) || !/^[a-z][a-z0-9+.-]*:/.test(library)) {
    throw new InputError("nixos_flake", "an absolute path or a flake reference with a scheme (path:/..., git+https://...), without spaces", library);
  }
  const profiles = pickFromCatalog("profiles", PROFILES, inputs.profiles, DEFAULT_PROFILES);
  const testSuites = pickFromCatalog("test_suites", TEST_SUITES, inputs.test_suites, TEST_SUITES);
  const shares = checkShares(inputs.shares);
  if (inputs.ssh_keys !== undefined && inputs.ssh_keys !== null && !Array.isArray(inputs.ssh_keys)) {
    throw new InputError("ssh_keys", "a list of OpenSSH public key lines", inputs.ssh_keys);
  }
  const sshKeys = [...new Set((inputs.ssh_keys ?? []).map((k, i) => checkSshKey(k, i)))];
  const hostname = checkHostname(inputs.hostname || hostnameFromVm(vm));
  const user = checkUser(inputs.user || DEFAULT_USER);
  const sourceOverrides = checkSourceOverrides(inputs.source_overrides);
  return {
    vm,
    library,
    profiles,
    testSuites,
    gateOn: profiles.some((p) => GATED_PROFILES.includes(p)),
    shares,
    sshKeys,
    hostname,
    user,
    sourceOverrides,
  };
}

/** The per-VM config directory: WORKERS_DIR/<WORKER_INDEX>/nix/<vm>. */
export function configDirFor(layout: WorkbenchLayout, vm: string): string {
  return posix.join(layout.slotDir, "nix", checkName("vm", vm));
}

/** The lock that serialises runs on one config directory (a sibling file). */
export function configLockPath(configDir: string): string {
  return `${configDir.replace(/\/+$/, "")}.lock`;
}
