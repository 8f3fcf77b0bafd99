// Rendering the per-VM config: flake.nix near-verbatim from the library's
// templates/imageless/flake.nix, and default.nix composed from the plan. Pure string
// builders (the kdevops nixosfi role does this with Jinja2): the same plan always gives
// the same bytes, which the golden tests pin. Every value from the plan is written
// through nixString or nixAttrName.

import { GATE_OPTION, MODULE_PATHS } from "./catalog.ts";
import { nixAttrName, nixAttrPath, nixString, nixStringList } from "./nix_string.ts";
import type { ClosurePlan } from "./plan.ts";

export const TEMPLATE_PATH = "templates/imageless/flake.nix";

/**
 * The one line of the template render rewrites: `nixos-flake.url = "...";` inside an
 * `inputs = { ... }` block, or `inputs.nixos-flake.url = "...";` at the top.
 */
const URL_LINE = /^([ \t]*)(inputs\.)?nixos-flake\.url[ \t]*=[ \t]*"(?:[^"\\$]|\\.)*"[ \t]*;[^\n]*$/gm;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

/**
 * flake.nix: the template with `nixos-flake.url` set to the library reference and, right
 * after it, one non-flake input per source override (`<package>-src`).
 */
export function renderFlakeNix(template: string, plan: Pick<ClosurePlan, "library" | "sourceOverrides">): string {
  const matches = [...template.matchAll(URL_LINE)];
  if (matches.length !== 1) {
    throw new TemplateError(
      `the library's ${TEMPLATE_PATH} must have exactly one line 'nixos-flake.url = "...";' (found ${matches.length})`,
    );
  }
  const m = matches[0]!;
  const indent = m[1] ?? "";
  const prefix = m[2] ?? "";
  const lines = [`${indent}${prefix}nixos-flake.url = ${nixString(plan.library)};`];
  for (const o of plan.sourceOverrides) {
    lines.push(`${indent}${prefix}${nixAttrName(o.input)} = { url = ${nixString(o.url)}; flake = false; };`);
  }
  const start = m.index!;
  return template.slice(0, start) + lines.join("\n") + template.slice(start + m[0].length);
}

const HEADER = [
  "# Rendered by kdevflow (f/nix/build, render_config) from the flow's inputs.",
  "# Do not edit: the next run of the flow writes this file again.",
];

/** default.nix: the VM's composition, one NixOS module. */
export function renderDefaultNix(plan: ClosurePlan): string {
  const imports = [
    ...plan.profiles.map((p) => nixAttrPath(MODULE_PATHS.profile(p))),
    ...plan.testSuites.map((t) => nixAttrPath(MODULE_PATHS.testSuite(t))),
    ...(plan.shares.length ? [nixAttrPath(MODULE_PATHS.shares)] : []),
  ];
  const out: string[] = [...HEADER, "{ inputs, nixos-flake, ... }:", "{"];
  out.push(imports.length ? `  imports = [\n${imports.map((i) => `    ${i}\n`).join("")}  ];` : "  imports = [ ];");
  out.push("");
  out.push("  # The kernel is external: f/kernel/build makes it, the boot flow pairs them.");
  out.push("  boot.kernel.enable = false;");
  out.push(`  networking.hostName = ${nixString(plan.hostname)};`);
  out.push("");
  out.push(`  users.users.${nixAttrName(plan.user)} = {`);
  out.push("    isNormalUser = true;");
  out.push(`    openssh.authorizedKeys.keys = ${nixStringList(plan.sshKeys, "    ")};`);
  out.push("  };");
  if (plan.gateOn) {
    out.push("");
    out.push("  # A gated profile is selected.");
    out.push(`  ${nixAttrPath(GATE_OPTION)} = true;`);
  }
  if (plan.shares.length) {
    out.push("");
    out.push("  nixos-flake.shares = [");
    for (const s of plan.shares) {
      out.push("    {");
      out.push(`      tag = ${nixString(s.tag)};`);
      out.push(`      source = ${nixString(s.source)};`);
      out.push(`      mountPoint = ${nixString(s.target)};`);
      out.push(`      readOnly = ${s.readOnly ? "true" : "false"};`);
      out.push("    }");
    }
    out.push("  ];");
  }
  if (plan.sourceOverrides.length) {
    out.push("");
    out.push("  nixos-flake.sourceOverrides = {");
    for (const o of plan.sourceOverrides) {
      out.push(`    ${nixAttrName(o.package)} = inputs.${nixAttrName(o.input)};`);
    }
    out.push("  };");
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}
