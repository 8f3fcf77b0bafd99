// Rendering the per-VM config: flake.nix from the library's templates/imageless/flake.nix
// (its nixos-flake.url line rewritten, one non-flake input per source override after the
// nixpkgs.follows line) and default.nix composed from the plan, in the library's own
// terms. Pure string builders: the same plan always gives the same bytes, which the
// golden tests pin. Every value from the plan is written through nixString or
// nixAttrName.

import { MODULE_PATHS, USER_NAME_OPTION } from "./catalog.ts";
import { nixAttrName, nixAttrPath, nixString, nixStringList } from "./nix_string.ts";
import type { ClosurePlan, SourceOverride } from "./plan.ts";

export const TEMPLATE_PATH = "templates/imageless/flake.nix";

/**
 * The lines render rewrites or follows, each inside an `inputs = { ... }` block or at
 * the top as `inputs.<name>...`: `nixos-flake.url = "...";` and `nixpkgs.follows = "...";`.
 */
const URL_LINE = /^([ \t]*)(inputs\.)?nixos-flake\.url[ \t]*=[ \t]*"(?:[^"\\$]|\\.)*"[ \t]*;[^\n]*$/gm;
const FOLLOWS_LINE = /^([ \t]*)(inputs\.)?nixpkgs\.follows[ \t]*=[ \t]*"(?:[^"\\$]|\\.)*"[ \t]*;[^\n]*$/gm;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

function onlyMatch(template: string, re: RegExp, what: string): RegExpMatchArray {
  const matches = [...template.matchAll(re)];
  if (matches.length !== 1) {
    throw new TemplateError(`the library's ${TEMPLATE_PATH} must have exactly one line '${what}' (found ${matches.length})`);
  }
  return matches[0]!;
}

/** `<package>-src = { type = ...; ...; flake = false; };` as the template's comments write it. */
function sourceInputLines(o: SourceOverride, indent: string, prefix: string): string[] {
  const fields: [string, string][] = [["type", nixString(o.source.type)]];
  if (o.source.type === "path") fields.push(["path", nixString(o.source.path)]);
  else {
    fields.push(["url", nixString(o.source.url)]);
    if (o.source.ref) fields.push(["ref", nixString(o.source.ref)]);
    if (o.source.rev) fields.push(["rev", nixString(o.source.rev)]);
    if (o.source.submodules) fields.push(["submodules", "true"]);
  }
  fields.push(["flake", "false"]);
  return [`${indent}${prefix}${nixAttrName(o.input)} = {`, ...fields.map(([k, v]) => `${indent}  ${k} = ${v};`), `${indent}};`];
}

/**
 * flake.nix: the template with `nixos-flake.url` set to the library reference and, right
 * after the `nixpkgs.follows` line, one non-flake input per source override.
 */
export function renderFlakeNix(template: string, plan: Pick<ClosurePlan, "library" | "sourceOverrides">): string {
  const url = onlyMatch(template, URL_LINE, 'nixos-flake.url = "...";');
  const follows = onlyMatch(template, FOLLOWS_LINE, 'nixpkgs.follows = "...";');
  const edits: { at: number; length: number; text: string }[] = [
    { at: url.index!, length: url[0].length, text: `${url[1] ?? ""}${url[2] ?? ""}nixos-flake.url = ${nixString(plan.library)};` },
  ];
  if (plan.sourceOverrides.length) {
    const indent = follows[1] ?? "";
    const lines = plan.sourceOverrides.flatMap((o) => sourceInputLines(o, indent, follows[2] ?? ""));
    edits.push({ at: follows.index! + follows[0].length, length: 0, text: `\n${lines.join("\n")}` });
  }
  let out = template;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at + e.length);
  return out;
}

const HEADER = [
  "# Rendered by kdevflow (f/nix/build, render_config) from the flow's inputs.",
  "# Do not edit: the next run of the flow writes this file again.",
];

/** default.nix: the VM's composition, one NixOS module in the library's terms. */
export function renderDefaultNix(plan: ClosurePlan): string {
  const imports = [
    ...plan.profiles.map((p) => nixAttrPath(MODULE_PATHS.profile(p))),
    ...plan.testSuites.map((t) => nixAttrPath(MODULE_PATHS.testSuite(t))),
    ...(plan.shares.length ? [nixAttrPath(MODULE_PATHS.shares)] : []),
  ];
  const out: string[] = [...HEADER, "{", "  config,", "  lib,", "  pkgs,", "  nixos-flake,", "  inputs,", "  ...", "}:", "{"];
  out.push(imports.length ? `  imports = [\n${imports.map((i) => `    ${i}\n`).join("")}  ];` : "  imports = [ ];");
  out.push("");
  out.push(`  networking.hostName = ${nixString(plan.hostname)};`);
  if (plan.gates.length) {
    out.push("");
    out.push("  # Gated profiles do nothing until enabled: these are selected.");
    for (const g of plan.gates) out.push(`  ${nixAttrPath(g)} = true;`);
  }
  if (plan.user !== null) {
    out.push("");
    out.push("  # The library's unprivileged account.");
    out.push(`  ${nixAttrPath(USER_NAME_OPTION)} = ${nixString(plan.user)};`);
  }
  if (plan.shares.length) {
    out.push("");
    out.push("  # Host folders over virtiofs, by guest mount point; the boot flow exports each tag.");
    out.push("  nixos-flake.shares = {");
    for (const s of plan.shares) {
      out.push(`    ${nixString(s.target)} = {`);
      out.push(`      tag = ${nixString(s.tag)};`);
      if (s.readOnly) out.push(`      options = [ "ro" ];`);
      out.push("    };");
    }
    out.push("  };");
  }
  if (plan.sshKeys.length) {
    out.push("");
    out.push("  # SSH keys for root and the library's user (the Workbench's managed key first).");
    out.push(`  users.users.root.openssh.authorizedKeys.keys = ${nixStringList(plan.sshKeys, "  ")};`);
    out.push(`  users.users.\${config.${nixAttrPath(USER_NAME_OPTION)}}.openssh.authorizedKeys.keys = ${nixStringList(plan.sshKeys, "  ")};`);
  }
  if (plan.sourceOverrides.length) {
    out.push("");
    out.push("  # Packages built from a source checkout: the <package>-src inputs of flake.nix.");
    out.push("  nixpkgs.overlays = [");
    out.push("    (final: prev: {");
    for (const o of plan.sourceOverrides) {
      const name = nixAttrName(o.package);
      out.push(`      ${name} = prev.${name}.overrideAttrs (_: { src = inputs.${nixAttrName(o.input)}; });`);
    }
    out.push("    })");
    out.push("  ];");
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}
