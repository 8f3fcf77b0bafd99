// Keep a step's `.script.yaml` schema equal to what Windmill infers from its main.
//
//   bun scripts/script-schema.ts f/qemu/build/configure.ts ...          show problems and the schema
//   bun scripts/script-schema.ts --write f/qemu/build/configure.ts ...  rewrite the schema in place
//   bun scripts/script-schema.ts [--write] --all                         every step under f/
//
// The schema comes from windmill-parser-wasm-ts and windmill-utils-internal, as the
// conformance test computes it (tests/harness/conformance.ts). --write keeps the
// summary, description, lock and kind, and every property's description, title and
// other form settings; it creates the .script.yaml (with empty summary and description
// to fill in) when there is none, and names what is left to fill in (a new argument's
// description). Exit status: 0 when every file conforms (or was written), 1 when one
// does not (a field without a description counts), 2 on bad usage.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseDocument, stringify } from "yaml";
import { writeFileAtomic } from "../f/common/atomic.ts";
import { join, relative, resolve } from "node:path";
import { compareScriptSchema, listWorkspace, parseMain, scriptSchemaFor, undescribed } from "../tests/harness/conformance.ts";

const args = process.argv.slice(2);
const write = args.includes("--write");
const all = args.includes("--all");
let files = args.filter((a) => a !== "--write" && a !== "--all");
if ((!files.length && !all) || (files.length && all) || files.some((f) => f.startsWith("-") || !f.endsWith(".ts"))) {
  console.error("usage: bun scripts/script-schema.ts [--write] STEP.ts...\n       bun scripts/script-schema.ts [--write] --all    (every step under f/)");
  process.exit(2);
}
if (all) {
  const root = resolve(import.meta.dirname, "..");
  const ws = await listWorkspace(root);
  files = [];
  for (const f of ws.files.filter((x) => x.endsWith(".ts") && !x.includes("__flow/"))) {
    if (parseMain(await readFile(join(root, f), "utf8")).hasMain) files.push(relative(process.cwd(), join(root, f)));
  }
}

let failed = false;
for (const file of files) {
  const code = await readFile(file, "utf8");
  if (!parseMain(code).hasMain) {
    console.error(`${file}: no main: a library needs no .script.yaml`);
    failed = true;
    continue;
  }
  const metaPath = file.replace(/\.ts$/, ".script.yaml");
  const doc = existsSync(metaPath)
    ? parseDocument(await readFile(metaPath, "utf8"))
    : parseDocument("summary: ''\ndescription: ''\nlock: ''\nkind: script\n");
  const current = doc.toJS()?.schema;
  const problems = current ? compareScriptSchema(code, current) : ["has no schema"];
  const schema = scriptSchemaFor(code, current);
  if (write) {
    doc.set("schema", doc.createNode(schema));
    await writeFileAtomic(metaPath, doc.toString({ lineWidth: 100 }));
    console.log(`${metaPath}: ${problems.length ? `schema rewritten (${problems.length} difference(s) fixed)` : "schema already matched main; rewritten tidily"}`);
    const todo = [...(doc.toJS()?.summary ? [] : ["summary"]), ...(doc.toJS()?.description ? [] : ["description"]), ...undescribed(schema).map((p) => p.split(":")[0]!)];
    if (todo.length) console.log(`${metaPath}: fill in ${todo.join(", ")}`);
    continue;
  }
  problems.push(...undescribed(current));
  if (problems.length) {
    failed = true;
    for (const p of problems) console.log(`${metaPath}: ${p}`);
    console.log(`${metaPath}: the schema main gives (--write puts it in place):\n${stringify({ schema }, { lineWidth: 100 })}`);
  } else {
    console.log(`${metaPath}: matches main`);
  }
}
process.exit(failed ? 1 : 0);
