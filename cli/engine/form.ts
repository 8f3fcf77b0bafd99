// `kdevflow show <flow>`: the flow's form as text, the way the Windmill UI lays it out:
// fields in `order`, each with its type, default, choices, description, nested groups
// indented, and the condition under which a field is shown. Pure: a string from a schema.

import { orderedKeys, type FormSchema, type PropSchema } from "./schema.ts";

function typeLabel(p: PropSchema): string {
  if (typeof p.format === "string" && p.format.startsWith("dynselect-")) return "dynamic select";
  if (typeof p.format === "string" && p.format.startsWith("resource-")) return `resource (${p.format.slice(9)})`;
  if (p.type === "array") {
    const items = p.items;
    if (Array.isArray(items?.enum) || Array.isArray(p.enum)) return "multiselect";
    return items?.type ? `list of ${items.type}` : "list";
  }
  if (p.type === "string" && Array.isArray(p.enum)) return "select";
  if (p.type === "object" && p.properties) return "group";
  return p.type || "any";
}

function shown(v: unknown): string {
  return JSON.stringify(v);
}

function constraints(p: PropSchema): string[] {
  const out: string[] = [];
  const choices = Array.isArray(p.items?.enum) ? p.items!.enum! : Array.isArray(p.enum) ? p.enum : undefined;
  if (choices) out.push(`choices: ${choices.map((c) => (typeof c === "string" ? c : shown(c))).join(", ")}`);
  const limits: string[] = [];
  if (typeof p.minLength === "number") limits.push(`at least ${p.minLength} characters`);
  if (typeof p.maxLength === "number") limits.push(`at most ${p.maxLength} characters`);
  if (typeof p.pattern === "string" && p.pattern) limits.push(`matching /${p.pattern}/`);
  if (typeof p.minimum === "number") limits.push(`minimum ${p.minimum}`);
  if (typeof p.maximum === "number") limits.push(`maximum ${p.maximum}`);
  if (limits.length) out.push(limits.join(", "));
  if (typeof p.showExpr === "string" && p.showExpr) out.push(`shown when: ${p.showExpr}`);
  return out;
}

/** Word-wrap one paragraph to `width` columns, each line starting with `indent`. */
export function wrap(text: string, indent: string, width = 100): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      out.push(`${indent}${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(`${indent}${line}`);
  return out;
}

function renderFields(schema: PropSchema, indent: string, lines: string[]): void {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  for (const key of orderedKeys(schema)) {
    const p = props[key]!;
    const head = [typeLabel(p)];
    if (required.has(key) && p.default === undefined) head.push("required");
    if (p.default !== undefined && !(p.type === "object" && p.properties)) head.push(`default ${shown(p.default)}`);
    const title = p.title && p.title !== key ? ` "${p.title}"` : "";
    lines.push(`${indent}${key}${title}: ${head.join(", ")}`);
    const detail = `${indent}    `;
    for (const d of (p.description ?? "").split("\n").map((l) => l.trim()).filter(Boolean)) lines.push(...wrap(d, detail));
    for (const c of constraints(p)) lines.push(`${detail}${c}`);
    if (p.type === "object" && p.properties) renderFields(p, `${indent}  `, lines);
    if (p.type === "array" && p.items?.type === "object" && p.items.properties) {
      lines.push(`${detail}each item:`);
      renderFields(p.items, `${detail}  `, lines);
    }
  }
}

export function renderForm(flowPath: string, flow: { summary?: string; description?: string; schema?: FormSchema }): string {
  const lines: string[] = [];
  lines.push(flow.summary ? `${flowPath}: ${flow.summary}` : flowPath);
  for (const d of (flow.description ?? "").trim().split("\n")) if (d.trim()) lines.push(...wrap(d, "  "));
  lines.push("");
  const schema = flow.schema ?? {};
  if (Object.keys(schema.properties ?? {}).length === 0) {
    lines.push("Inputs: none");
  } else {
    lines.push(`Inputs (set with: kdevflow run ${flowPath} --set name=value, group.name=value for a group field):`);
    renderFields(schema, "  ", lines);
  }
  return `${lines.join("\n")}\n`;
}
