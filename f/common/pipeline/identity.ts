// The build identity: 12 hex digits naming everything that decides a build's output
// (configuration, compiler, flags, the dev shell's derivation, the source tree), known
// before the build starts. Kernel and QEMU builds both compute it here, each from its
// own parts, so the same inputs always give the same identity and any change to one
// part gives another.

import { createHash } from "node:crypto";

export type IdentityParts = Record<string, string | string[]>;

export const IDENTITY_LENGTH = 12;

/**
 * The canonical text that is hashed: one line per key in sorted order, every key and
 * value JSON-encoded so that no value can imitate a separator. Arrays keep their order
 * (the order of make arguments or fragments matters).
 */
export function canonicalIdentityText(parts: IdentityParts): string {
  const keys = Object.keys(parts).sort();
  const lines: string[] = [];
  for (const key of keys) {
    const value = parts[key];
    if (typeof value === "string") lines.push(`${JSON.stringify(key)}=${JSON.stringify(value)}`);
    else if (Array.isArray(value) && value.every((v) => typeof v === "string")) lines.push(`${JSON.stringify(key)}=[${value.map((v) => JSON.stringify(v)).join(",")}]`);
    else throw new TypeError(`identity part ${key} must be a string or an array of strings`);
  }
  return `kdevflow-identity-v1\n${lines.join("\n")}\n`;
}

/** sha256 over the canonical encoding, first 12 hex digits. Pure. */
export function buildIdentity(parts: IdentityParts): string {
  return createHash("sha256").update(canonicalIdentityText(parts)).digest("hex").slice(0, IDENTITY_LENGTH);
}

/** A digest of a (possibly large) text, for identity parts such as a .config. */
export function contentDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function isIdentity(value: string): boolean {
  return /^[0-9a-f]{12}$/.test(value);
}
