// The closure plan: the flow's parsed inputs (inputs.ts), what the library offers
// (library.ts) and the Workbench's managed SSH key, checked and completed into one plain
// object that the renderer turns into flake.nix and default.nix. Pure: nothing here
// touches the disk or runs a command, so every rule is unit-tested with literal inputs.
// Bad input raises InputError naming the field, before render_config writes anything.

import { posix } from "node:path";
import { InputError, NOT_SHOWN } from "../../common/errors.ts";
import { checkName, type WorkbenchLayout } from "../../common/layout.ts";
import { resolveFlake } from "../../common/nix.ts";
import { tagFromTarget, tagProblem } from "../../common/shares.ts";
import { PROFILE_GATES, PROFILES, RESERVED_MOUNT_POINTS, TEST_SUITES, type Profile, type TestSuite } from "./catalog.ts";
import type { Inputs } from "./inputs.ts";

export interface Share {
  tag: string;
  /** Host directory (absolute), exported by the boot flow's virtiofsd. */
  source: string;
  /** Where the guest mounts it (absolute): the key of nixos-flake.shares. */
  target: string;
  readOnly: boolean;
}

/** A non-flake input `<package>-src`, as the library's template writes them. */
export type SourceInput =
  | { type: "path"; path: string }
  | { type: "git"; url: string; ref?: string; rev?: string; submodules?: boolean };

export interface SourceOverride {
  package: string;
  /** The flake input's name in the rendered flake.nix. */
  input: string;
  source: SourceInput;
}

/** What the library offers, asked of it before rendering (library.ts). */
export interface LibraryOffer {
  profiles: readonly string[];
  testSuites: readonly string[];
  mounts: readonly string[];
}

export interface ClosurePlan {
  vm: string;
  /** The library's flake reference. */
  library: string;
  profiles: Profile[];
  testSuites: TestSuite[];
  /** The gate options to set (nixos-flake.<profile>.enable), one per selected gated profile. */
  gates: (readonly string[])[];
  shares: Share[];
  /** Keys authorised for root and the library's user: the managed key first, then the given ones. */
  sshKeys: string[];
  hostname: string;
  /** nixos-flake.user.name when given; null keeps the library's own default. */
  user: string | null;
  sourceOverrides: SourceOverride[];
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
  if (line.includes("PRIVATE KEY")) throw new InputError(field, `${expected}, not a private key`, NOT_SHOWN);
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
  return posix.normalize(value).replace(/(.)\/+$/, "$1");
}

export interface ShareInput {
  source: string;
  target?: string | null;
  tag?: string | null;
  read_only?: boolean | null;
}

/**
 * The shares, checked and completed: a mount point defaults to the source path, a tag to
 * the mount point as a slug. Mount points are the keys of nixos-flake.shares, tags name
 * the boot flow's units: both are unique.
 */
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

const PACKAGE = /^[a-z0-9][A-Za-z0-9_-]{0,63}$/;
const GIT_SCHEMES = ["https", "http", "ssh", "file"] as const;
const SOURCE_EXPECTED =
  "an absolute path (or path:/...), or a git URL (git+https://, git+ssh://, git+http:// or git+file://, optionally ?ref=<branch>&rev=<commit>)";

/**
 * A source override's URL as the non-flake input the library's template shows: a local
 * checkout `{ type = "path"; path; }` or a repository `{ type = "git"; url; ref?; rev?; }`.
 */
export function sourceInput(field: string, value: unknown): SourceInput {
  if (typeof value !== "string") throw new InputError(field, SOURCE_EXPECTED, value);
  const url = value.trim();
  if (/[\s\0]/.test(url)) throw new InputError(field, SOURCE_EXPECTED, value);
  const path = url.startsWith("/") ? url : url.startsWith("path:/") ? url.slice("path:".length) : null;
  if (path !== null) {
    if (path.includes("?")) throw new InputError(field, `${SOURCE_EXPECTED}; a path takes no query`, value);
    return { type: "path", path: posix.normalize(path).replace(/(.)\/+$/, "$1") };
  }
  const m = /^git\+([a-z]+):\/\/([^?#]+)(?:\?([^#]*))?$/.exec(url);
  if (!m || !(GIT_SCHEMES as readonly string[]).includes(m[1]!)) throw new InputError(field, SOURCE_EXPECTED, value);
  const out: SourceInput = { type: "git", url: `${m[1]}://${m[2]}` };
  for (const [k, v] of new URLSearchParams(m[3] ?? "")) {
    if (k === "ref" && v) out.ref = v;
    else if (k === "rev" && /^[0-9a-f]{40}$/.test(v)) out.rev = v;
    else if (k === "submodules" && (v === "1" || v === "true")) out.submodules = true;
    else throw new InputError(field, `${SOURCE_EXPECTED}; the query may hold ref, rev (a full commit id) and submodules=1 only`, value);
  }
  return out;
}

export interface SourceOverrideInput {
  package: string;
  url: string;
}

export function checkSourceOverrides(given: readonly SourceOverrideInput[] | null | undefined, list = "source_overrides"): SourceOverride[] {
  if (given === undefined || given === null) return [];
  if (!Array.isArray(given)) throw new InputError(list, "a list of {package, url}", given);
  const out: SourceOverride[] = [];
  given.forEach((raw, i) => {
    const field = `${list}[${i}]`;
    if (!raw || typeof raw !== "object") throw new InputError(field, "an object {package, url}", raw);
    if (typeof raw.package !== "string" || !PACKAGE.test(raw.package)) {
      throw new InputError(`${field}.package`, "a nixpkgs attribute name of letters, digits, '_' or '-'", raw.package);
    }
    if (out.some((o) => o.package === raw.package)) throw new InputError(`${field}.package`, "each package overridden once", raw.package);
    out.push({ package: raw.package, input: `${raw.package}-src`, source: sourceInput(`${field}.url`, raw.url) });
  });
  return out;
}

/** A selection must name what the library has: a fork may lack a profile or a suite. */
function checkOffered(field: string, what: string, chosen: readonly string[], offered: readonly string[], library: string): void {
  const missing = chosen.find((c) => !offered.includes(c));
  if (missing !== undefined) {
    throw new InputError(field, `each entry to be one of the ${what} ${library} has (${offered.length ? offered.join(", ") : "none"})`, missing);
  }
}

export interface PlanFacts {
  /** What the library offers. */
  offer: LibraryOffer;
  /** The Workbench's managed public key, authorised first; null when there is none. */
  managedKey: string | null;
}

/** Check and complete the parsed inputs. Throws InputError on the first bad field. */
export function planClosure(inputs: Inputs, facts: PlanFacts, env: Record<string, string | undefined> = process.env): ClosurePlan {
  const vm = checkName("vm", inputs.vm);
  const library = resolveFlake(inputs.nixos_flake, env);
  const profiles = PROFILES.filter((p) => inputs.profiles.includes(p));
  const testSuites = TEST_SUITES.filter((t) => inputs.test_suites.includes(t));
  checkOffered("profiles", "profiles", profiles, facts.offer.profiles, library);
  checkOffered("test_suites", "test suites", testSuites, facts.offer.testSuites, library);
  const shares = checkShares(inputs.shares);
  if (shares.length && !facts.offer.mounts.includes("shares")) {
    throw new InputError("shares", `none: ${library} has no nixosModules.mounts.shares`, inputs.shares);
  }
  const given = inputs.ssh_keys.map((k, i) => checkSshKey(k, i));
  const sshKeys = [...new Set([...(facts.managedKey ? [facts.managedKey] : []), ...given])];
  const hostname = checkHostname(inputs.hostname || hostnameFromVm(vm));
  const user = inputs.user ? checkUser(inputs.user) : null;
  return {
    vm,
    library,
    profiles,
    testSuites,
    gates: profiles.flatMap((p) => (PROFILE_GATES[p] ? [PROFILE_GATES[p]] : [])),
    shares,
    sshKeys,
    hostname,
    user,
    sourceOverrides: checkSourceOverrides(inputs.source_overrides),
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
