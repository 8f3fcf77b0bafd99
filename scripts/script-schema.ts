// Keep every module's `.script.yaml` right: a step's schema equal to what Windmill infers
// from its main, a library's metadata present (wmill sync push writes it into the
// checkout otherwise), and the worker tag on both.
//
//   bun scripts/script-schema.ts f/qemu/build/configure.ts ...          show problems and the schema
//   bun scripts/script-schema.ts --write f/qemu/build/configure.ts ...  rewrite in place
//   bun scripts/script-schema.ts [--write] --all                         every module under f/ (steps and libraries)
//
// The schema comes from windmill-parser-wasm-ts and windmill-utils-internal, as the
// conformance test computes it (tests/harness/conformance.ts); a library has no main, so
// its schema has no field. --write keeps the summary, description, lock and kind, and
// every property's description, title and other form settings, and sets the worker tag
// (f/common/worker_tag.ts). It creates a missing .script.yaml: a step's with an empty
// summary and description to fill in, a library's from its leading comment; and names
// what is left to fill in (a new argument's description). Run
// `bun scripts/deploy-metadata.ts --write` afterwards: wmill-lock.yaml hashes every file.
// Exit status: 0 when every file conforms (or was written), 1 when one does not (a field
// without a description counts), 2 on bad usage.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseDocument, stringify } from "yaml";
import { writeFileAtomic } from "../f/common/atomic.ts";
import { WORKER_TAG } from "../f/common/worker_tag.ts";
import { compareScriptSchema, deploymentProblems, listWorkspace, newScriptMetadata, parseMain, scriptSchemaFor, undescribed } from "../tests/harness/conformance.ts";

const args = process.argv.slice(2);
const write = args.includes("--write");
const all = args.includes("--all");
let files = args.filter((a) => a !== "--write" && a !== "--all");
if ((!files.length && !all) || (files.length && all) || files.some((f) => f.startsWith("-") || !f.endsWith(".ts") || f.includes("__flow/"))) {
  console.error("usage: bun scripts/script-schema.ts [--write] MODULE.ts...\n       bun scripts/script-schema.ts [--write] --all    (every module under f/ outside flow folders)");
  process.exit(2);
}
if (all) {
  const root = resolve(import.meta.dirname, "..");
  const ws = await listWorkspace(root);
  files = ws.files.filter((x) => x.endsWith(".ts") && !x.includes("__flow/")).map((f) => relative(process.cwd(), join(root, f)));
}

/** The .script.yaml text with its `tag` line set to the worker tag (added after `kind`, or at the end). */
function withWorkerTag(text: string): string {
  const line = `tag: ${WORKER_TAG}`;
  if (/^tag:.*$/m.test(text)) return text.replace(/^tag:.*$/m, line);
  if (/^kind:.*$/m.test(text)) return text.replace(/^kind:.*$/m, (k) => `${k}\n${line}`);
  return `${text.replace(/\n?$/, "\n")}${line}\n`;
}

let failed = false;
for (const file of files) {
  const code = await readFile(file, "utf8");
  const isStep = parseMain(code).hasMain;
  const metaPath = file.replace(/\.ts$/, ".script.yaml");
  const created = !existsSync(metaPath);
  const doc = created ? parseDocument(stringify(newScriptMetadata(code))) : parseDocument(await readFile(metaPath, "utf8"));
  const current = doc.toJS()?.schema;
  const problems = created ? [`there is no ${metaPath}`] : [...(current ? compareScriptSchema(code, current) : ["has no schema"]), ...deploymentProblems(doc.toJS())];
  const schema = scriptSchemaFor(code, current);
  if (write) {
    const schemaProblems = created || !current ? 1 : compareScriptSchema(code, current).length;
    if (schemaProblems) {
      doc.set("tag", WORKER_TAG);
      doc.set("schema", doc.createNode(schema));
      await writeFileAtomic(metaPath, doc.toString({ lineWidth: 100 }));
    } else if (problems.length) {
      // Only the deployment settings differ: change those lines and leave the rest as it is.
      await writeFileAtomic(metaPath, withWorkerTag(await readFile(metaPath, "utf8")));
    }
    const what = created ? "created" : problems.length ? `rewritten (${problems.length} difference(s) fixed)` : `already matches ${isStep ? "main" : "the library"}`;
    console.log(`${metaPath}: ${what}`);
    const todo = [...(doc.toJS()?.summary ? [] : ["summary"]), ...(doc.toJS()?.description ? [] : ["description"]), ...undescribed(schema).map((p) => p.split(":")[0]!)];
    if (todo.length) console.log(`${metaPath}: fill in ${todo.join(", ")}`);
    continue;
  }
  if (!created) problems.push(...undescribed(current));
  if (problems.length) {
    failed = true;
    for (const p of problems) console.log(`${metaPath}: ${p}`);
    console.log(`${metaPath}: the schema ${isStep ? "main gives" : "of a library"} (--write puts it in place):\n${stringify({ schema }, { lineWidth: 100 })}`);
  } else {
    console.log(`${metaPath}: matches ${isStep ? "main" : "the library"}`);
  }
}
process.exit(failed ? 1 : 0);
