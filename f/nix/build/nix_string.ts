// Writing values into Nix source. Every user-chosen value (a hostname, a user name, an
// SSH key, a path, a URL) reaches default.nix or flake.nix through nixString, so no
// value can close the string, start an interpolation or add a line of Nix code.

/**
 * A Nix double-quoted string holding exactly `value`. Inside "...", Nix reads `\x` as
 * `x` for every x other than n, r and t, so escaping the backslash, the quote and every
 * `$` (which could begin `${`) is enough; newlines, returns and tabs are written as
 * escapes so the string stays on one line.
 */
export function nixString(value: string): string {
  if (typeof value !== "string") throw new TypeError(`nixString: expected a string, got ${typeof value}`);
  if (value.includes("\0")) throw new Error("nixString: a Nix string cannot hold a NUL character");
  let out = '"';
  for (const ch of value) {
    switch (ch) {
      case "\\":
        out += "\\\\";
        break;
      case '"':
        out += '\\"';
        break;
      case "$":
        out += "\\$";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        out += ch;
    }
  }
  return `${out}"`;
}

const NIX_KEYWORDS = new Set(["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"]);

/** An attribute name: bare when Nix reads it as an identifier, quoted otherwise. */
export function nixAttrName(name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_'-]*$/.test(name) && !NIX_KEYWORDS.has(name)) return name;
  return nixString(name);
}

/** An attribute path such as nixos-flake.nixosModules.profiles.devel. */
export function nixAttrPath(parts: readonly string[]): string {
  return parts.map(nixAttrName).join(".");
}

/** A list of strings, one per line at `indent`, or `[ ]` when empty. */
export function nixStringList(values: readonly string[], indent: string): string {
  if (values.length === 0) return "[ ]";
  return `[\n${values.map((v) => `${indent}  ${nixString(v)}\n`).join("")}${indent}]`;
}
