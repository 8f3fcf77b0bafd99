// Keep every flow form equal to the flow's inputs, declared once as a zod object in
// `f/<flow>/inputs.ts` (export `Inputs`): the `schema` of `f/<flow>__flow/flow.yaml` is
// generated from it (f/common/inputs.ts formSchema), and its `tag` is the worker tag
// (f/common/worker_tag.ts). Generated flows (the bring-up) are written whole by their
// generator module (export `generateFlow`).
//
//   bun scripts/flow-forms.ts            check: exit 1 and name each flow whose file differs
//   bun scripts/flow-forms.ts --write    rewrite what differs
//
// tests/unit/flow-forms.test.ts runs the check, so a changed inputs.ts without a
// regenerated flow.yaml fails the tests.

import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { type Document, parseDocument } from "yaml";
import type { z } from "zod";
import { writeFileAtomic } from "../f/common/atomic.ts";
import { formSchema } from "../f/common/inputs.ts";
import { WORKER_TAG } from "../f/common/worker_tag.ts";

export const REPO = resolve(import.meta.dirname, "..");

export interface FlowForm {
  /** The Windmill path: f/kernel/build. */
  flow: string;
  /** The flow.yaml, relative to the repository. */
  file: string;
  /** f/<flow>/inputs.ts, relative to the repository, or null when the flow has none. */
  inputs: string | null;
  /** The flow.yaml as it is committed. */
  current: string;
  /** The flow.yaml as the generator writes it (null when the flow has no inputs module). */
  generated: string | null;
}

async function flowFiles(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name.endsWith("__flow") && existsSync(join(p, "flow.yaml"))) out.push(join(p, "flow.yaml"));
      else await flowFiles(p, out);
    }
  }
  return out.sort();
}

/** How flow files are written: wide lines, so descriptions stay on one line each. */
export const YAML_OPTIONS = { lineWidth: 0 } as const;

/**
 * Set the flow's top-level `tag` (the worker tag), right after its description when it
 * has none yet. The server reads a flow's tag from the file's top level (NewFlow, backend
 * windmill-types/src/flows.rs: the CLI sends the whole file), not from `value`.
 */
export function setWorkerTag(doc: Document): void {
  if (doc.has("tag")) {
    doc.set("tag", WORKER_TAG);
    return;
  }
  const items = (doc.contents as { items?: { key: unknown }[] } | null)?.items;
  const at = items?.findIndex((p) => String((p.key as { value?: unknown })?.value ?? p.key) === "description") ?? -1;
  if (!items || at < 0) {
    doc.set("tag", WORKER_TAG);
    return;
  }
  items.splice(at + 1, 0, doc.createPair("tag", WORKER_TAG) as never);
}

/** The flow.yaml text with `schema` replaced by the form of `inputs`, and the worker tag set. */
export function withForm(current: string, inputs: z.ZodType): string {
  const doc = parseDocument(current);
  setWorkerTag(doc);
  doc.set("schema", doc.createNode(formSchema(inputs)));
  return doc.toString(YAML_OPTIONS);
}

/** Every flow, its committed file and what the generator would write. */
export async function flowForms(root: string = REPO): Promise<FlowForm[]> {
  const out: FlowForm[] = [];
  for (const file of await flowFiles(join(root, "f"))) {
    const flowDir = file.slice(0, -"/flow.yaml".length);
    const flow = relative(root, flowDir).replace(/__flow$/, "");
    const inputsFile = join(root, `${flow}/inputs.ts`);
    const current = await readFile(file, "utf8");
    let generated: string | null = null;
    const hasInputs = existsSync(inputsFile);
    if (hasInputs) {
      const mod = (await import(inputsFile)) as { Inputs?: z.ZodType; generateFlow?: (current: string) => string | Promise<string> };
      if (mod.generateFlow) generated = await mod.generateFlow(current);
      else if (mod.Inputs) generated = withForm(current, mod.Inputs);
      else throw new Error(`${relative(root, inputsFile)} exports neither Inputs nor generateFlow`);
    }
    out.push({ flow, file: relative(root, file), inputs: hasInputs ? relative(root, inputsFile) : null, current, generated });
  }
  return out;
}

if ((import.meta as { main?: boolean }).main) {
  const write = process.argv.includes("--write");
  let stale = 0;
  for (const f of await flowForms()) {
    if (f.generated === null) {
      console.log(`${f.file}: no ${f.flow}/inputs.ts (its form is written by hand)`);
      continue;
    }
    if (f.generated === f.current) continue;
    if (write) {
      await writeFileAtomic(join(REPO, f.file), f.generated);
      console.log(`${f.file}: rewritten from ${f.inputs}`);
    } else {
      console.log(`${f.file}: differs from what ${f.inputs} generates (run: bun scripts/flow-forms.ts --write)`);
      stale++;
    }
  }
  process.exit(stale ? 1 : 0);
}
