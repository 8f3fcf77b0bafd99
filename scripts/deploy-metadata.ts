// Keep what `wmill sync push` reads beside f/ generated and current:
//
// - dependencies/package.json, the workspace's default dependencies for Bun. A Windmill
//   server resolves a deployed Bun script's npm imports in a dependency job: with this
//   file present and no annotation in the script naming another, it installs exactly
//   this package.json (backend windmill-common/src/workspace_dependencies.rs,
//   WorkspaceDependenciesPrefetched: implicit default, manual mode; windmill-worker
//   src/bun_executor.rs, gen_bun_lockfile, `bun install --save-text-lockfile`);
//   without it, the latest version of every imported package. windmill-cli pushes it with
//   the workspace (it is always included, whatever wmill.yaml's includes say) and hands
//   it to the dependency job when it generates locks (src/utils/metadata.ts,
//   getRawWorkspaceDependencies). It pins each runtime dependency of package.json at the
//   version package-lock.json holds.
// - wmill-lock.yaml, the hashes windmill-cli compares to tell stale metadata
//   (`wmill generate-metadata --dry-run`, and the warning `wmill sync push` prints). It
//   is written by the CLI itself: `wmill generate-metadata rehash` on a copy of the
//   workspace, seeded with the hash of dependencies/package.json, which rehash does not
//   write (the CLI stores sha256(content + path) for a dependency file:
//   src/utils/dependency_tree.ts, persistDepsHashes).
//
// Every file under f/ is hashed: run this last, after scripts/flow-forms.ts --write and
// scripts/script-schema.ts --write --all.
//
//   bun scripts/deploy-metadata.ts                      check: exit 1 and name what differs
//   bun scripts/deploy-metadata.ts --write              rewrite what differs
//   bun scripts/deploy-metadata.ts [--write] --workspace DIR   another workspace (a test fixture)

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../f/common/atomic.ts";
import { copyWorkspace, fileDigests, filesWritten, REPO, wmillRehash } from "../tests/harness/wmill.ts";

/** Where the workspace's default Bun dependencies live, relative to the workspace root. */
export const BUN_DEPENDENCIES = "dependencies/package.json";

interface PackageLock {
  packages?: Record<string, { version?: string; integrity?: string }>;
}

/** The runtime dependencies of package.json, each at package-lock.json's version; null when the workspace has no package.json. */
export async function pinnedDependencies(root: string): Promise<Record<string, string> | null> {
  if (!existsSync(join(root, "package.json"))) return null;
  const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  const lock = JSON.parse(await readFile(join(root, "package-lock.json"), "utf8")) as PackageLock;
  const pinned: Record<string, string> = {};
  for (const name of Object.keys(pkg.dependencies ?? {}).sort()) {
    const version = lock.packages?.[`node_modules/${name}`]?.version;
    if (!version) throw new Error(`package-lock.json: packages["node_modules/${name}"].version: expected the locked version of the runtime dependency ${name}, got nothing (run npm install)`);
    pinned[name] = version;
  }
  return pinned;
}

/** The text of dependencies/package.json for the workspace at `root`, or null when it has none. */
export async function bunDependenciesText(root: string): Promise<string | null> {
  const pinned = await pinnedDependencies(root);
  return pinned ? `${JSON.stringify({ dependencies: pinned }, null, 2)}\n` : null;
}

/** The hash windmill-cli records in wmill-lock.yaml for a workspace dependency file. */
export function dependencyFileHash(path: string, content: string): string {
  return createHash("sha256").update(content + path).digest("hex");
}

/**
 * The text of wmill-lock.yaml for the workspace at `root` with dependencies/package.json
 * as `depsText`, as `wmill generate-metadata rehash` writes it. Throws when the CLI
 * fails or writes anything besides wmill-lock.yaml (a module without metadata).
 */
export async function wmillLockText(root: string, depsText: string | null): Promise<string> {
  const copy = await copyWorkspace(root);
  try {
    await rm(join(copy, "dependencies"), { recursive: true, force: true });
    const seed = depsText === null ? "version: v2\nlocks: {}\n" : `version: v2\nlocks:\n  ${BUN_DEPENDENCIES}: ${dependencyFileHash(BUN_DEPENDENCIES, depsText)}\n`;
    await writeFile(join(copy, "wmill-lock.yaml"), seed);
    if (depsText !== null) {
      await writeFileAtomic(join(copy, BUN_DEPENDENCIES), depsText);
    }
    const before = await fileDigests(copy);
    const res = await wmillRehash(copy);
    if (res.exitCode !== 0) throw new Error(`wmill generate-metadata rehash failed (exit ${res.exitCode}):\n${res.output}`);
    const stray = filesWritten(before, await fileDigests(copy)).filter((l) => !l.startsWith("wmill-lock.yaml:"));
    if (stray.length) {
      throw new Error(`wmill generate-metadata rehash wrote into the workspace (a module without metadata: run bun scripts/script-schema.ts --write --all):\n${stray.join("\n")}`);
    }
    return await readFile(join(copy, "wmill-lock.yaml"), "utf8");
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

export interface GeneratedFile {
  /** Relative to the workspace root. */
  file: string;
  current: string | null;
  generated: string | null;
}

/** dependencies/package.json and wmill-lock.yaml: as committed and as generated. */
export async function deployMetadata(root: string): Promise<GeneratedFile[]> {
  const read = async (f: string) => (existsSync(join(root, f)) ? await readFile(join(root, f), "utf8") : null);
  const deps = await bunDependenciesText(root);
  return [
    { file: BUN_DEPENDENCIES, current: await read(BUN_DEPENDENCIES), generated: deps },
    { file: "wmill-lock.yaml", current: await read("wmill-lock.yaml"), generated: await wmillLockText(root, deps) },
  ];
}

if ((import.meta as { main?: boolean }).main) {
  const args = process.argv.slice(2);
  const write = args.includes("--write");
  const at = args.indexOf("--workspace");
  const rest = args.filter((a, i) => a !== "--write" && i !== at && i !== at + 1);
  if (rest.length || (at >= 0 && !args[at + 1])) {
    console.error("usage: bun scripts/deploy-metadata.ts [--write] [--workspace DIR]");
    process.exit(2);
  }
  const root = at >= 0 ? resolve(args[at + 1]!) : REPO;
  let stale = 0;
  for (const f of await deployMetadata(root)) {
    if (f.generated === f.current) continue;
    if (f.generated === null) {
      console.log(`${f.file}: not generated for this workspace (it has no package.json); remove it`);
      stale++;
      continue;
    }
    if (write) {
      await writeFileAtomic(join(root, f.file), f.generated);
      console.log(`${f.file}: ${f.current === null ? "written" : "rewritten"}`);
    } else {
      console.log(`${f.file}: ${f.current === null ? "missing" : "differs from what the workspace gives"} (run: bun scripts/deploy-metadata.ts --write)`);
      stale++;
    }
  }
  process.exit(stale ? 1 : 0);
}
