// Windmill's own CLI (windmill-cli 1.819, node_modules/.bin/wmill) run offline, on a copy
// of a workspace so that nothing it writes lands in the checkout.
//
// - `wmill lint`: what the CLI refuses before a push.
// - `wmill generate-metadata rehash`: recomputes wmill-lock.yaml, the content hashes the
//   CLI compares to decide whether a script's or flow's metadata is stale, from the files
//   on disk, without a server (cli/src/commands/generate-metadata/generate-metadata.ts,
//   rehashOnly). scripts/deploy-metadata.ts writes wmill-lock.yaml with it.
// - `wmill generate-metadata --dry-run`: the CLI's own staleness check, the one a
//   developer runs before `wmill sync push`. It lists every script, flow and workspace
//   dependency file whose hash differs from wmill-lock.yaml and changes nothing, but it
//   logs in first (requireLogin asks the server's GET /api/users/whoami). No Windmill
//   server runs here, so a login stand-in on 127.0.0.1 answers that one request with a
//   user and every other with 404: the only other request a dry run makes is the upload
//   of stale scripts to temporary storage, which it tolerates ("backend may be too old").
//   The staleness it reports is computed by the CLI alone.
//
// Like `wmill sync push`, both generate-metadata commands read every module's metadata
// and write a .script.yaml and .script.lock for a module that has none
// (src/utils/metadata.ts, parseMetadataFile), and create wmill-lock.yaml when it is
// missing (readLockfile): `filesWritten` reports what they wrote.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { run } from "../../f/common/run.ts";

export const REPO = resolve(import.meta.dirname, "../..");
export const WMILL = join(REPO, "node_modules/.bin/wmill");

/** What `wmill sync push` reads from a workspace root besides the flows and scripts under f/. */
export const WORKSPACE_FILES = ["wmill.yaml", "wmill-lock.yaml", "dependencies", "f"] as const;

export interface WmillResult {
  exitCode: number;
  /** stdout and stderr, without colours. */
  output: string;
}

const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

async function wmill(args: string[], cwd: string, env: Record<string, string> = {}): Promise<WmillResult> {
  const res = await run([WMILL, ...args], { cwd, capture: true, quiet: true, allowFailure: true, env: { NO_COLOR: "1", ...env } });
  return { exitCode: res.exitCode, output: stripAnsi(`${res.stdout}${res.stderr}`) };
}

export function wmillLint(cwd: string): Promise<WmillResult> {
  return wmill(["lint"], cwd);
}

/** A copy of a workspace (the files `wmill sync push` reads) in a new temporary folder; the caller removes it. */
export async function copyWorkspace(root: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kdevflow-wmill-"));
  for (const name of WORKSPACE_FILES) {
    if (existsSync(join(root, name))) await cp(join(root, name), join(dir, name), { recursive: true });
  }
  return dir;
}

/** Every file under `dir` with the sha256 of its content, by path relative to `dir`. */
export async function fileDigests(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), createHash("sha256").update(await readFile(p)).digest("hex"));
    }
  };
  await walk(dir);
  return out;
}

/** Files created or changed between two digests, one line each. */
export function filesWritten(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [f, digest] of after) {
    if (!before.has(f)) out.push(`${f}: created`);
    else if (before.get(f) !== digest) out.push(`${f}: changed`);
  }
  return out.sort();
}

/** `wmill generate-metadata rehash` in `cwd` (a copy: it rewrites wmill-lock.yaml in place). */
export async function wmillRehash(cwd: string): Promise<WmillResult> {
  const config = await mkdtemp(join(tmpdir(), "kdevflow-wmill-config-"));
  try {
    return await wmill(["generate-metadata", "rehash"], cwd, { WMILL_CONFIG_DIR: config });
  } finally {
    await rm(config, { recursive: true, force: true });
  }
}

/** A local stand-in for the one server request `wmill` needs to log in: GET /api/users/whoami. */
async function loginStandIn(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/api/users/whoami") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ email: "check@kdevflow.invalid", username: "check", is_admin: true, is_super_admin: false, operator: false, created_at: "1970-01-01T00:00:00Z", groups: [], folders: [], folders_owners: [] }));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("no Windmill server here: only a login stand-in");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the login stand-in has no TCP address");
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

export interface MetadataCheck {
  exitCode: number;
  output: string;
  /** The CLI's stale items, as it lists them (`~ f/x/y.ts — content changed`). */
  stale: string[];
  /** True when the CLI said "All metadata up-to-date". */
  upToDate: boolean;
  /** Files the CLI created or changed in the copy it ran on. */
  written: string[];
}

/** `wmill generate-metadata --dry-run` on a copy of the workspace at `root`. */
export async function wmillMetadataDryRun(root: string): Promise<MetadataCheck> {
  const copy = await copyWorkspace(root);
  const config = await mkdtemp(join(tmpdir(), "kdevflow-wmill-config-"));
  const { url, server } = await loginStandIn();
  try {
    const before = await fileDigests(copy);
    const res = await wmill(["generate-metadata", "--dry-run", "--base-url", url, "--token", "offline", "--workspace", "kdevflow"], copy, { WMILL_CONFIG_DIR: config });
    const written = filesWritten(before, await fileDigests(copy));
    const stale = res.output
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("~ "));
    return { ...res, stale, upToDate: /All metadata up-to-date/.test(res.output), written };
  } finally {
    await new Promise((done) => server.close(done));
    await rm(copy, { recursive: true, force: true });
    await rm(config, { recursive: true, force: true });
  }
}
