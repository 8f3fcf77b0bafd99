// The sshd the test guests run: Debian's OpenSSH server, unpacked (not installed: an
// installed openssh-server starts a daemon on the host) from the packages apt downloads,
// with the one library it needs that a machine without openssh-server lacks (libwrap0).
// ssh-keygen comes from the host's openssh-client. The stand-in nixpkgs copies them with
// their shared libraries into the store (tests/fixtures/nixpkgs/pkgs/openssh.sh).
//
// Cached like the source fixtures, in $KDEVFLOW_FIXTURES/openssh: made once under a lock
// in a temporary folder renamed into place, so a killed run leaves nothing half made.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { withLock } from "../../f/common/lock.ts";
import { run } from "../../f/common/run.ts";
import { fixturesRoot } from "./fixtures.ts";

/** The packages unpacked: the server, and the library it links that a client-only machine lacks. */
export const OPENSSH_PACKAGES = ["openssh-server", "libwrap0"] as const;

export interface HostOpenssh {
  sshd: string;
  sshKeygen: string;
  /** Where the unpacked libraries are (LD_LIBRARY_PATH for ldd). */
  libraryPath: string;
}

const DONE = "kdevflow-openssh.json";

function paths(dir: string): HostOpenssh {
  return {
    sshd: join(dir, "usr", "sbin", "sshd"),
    sshKeygen: "/usr/bin/ssh-keygen",
    libraryPath: [join(dir, "usr", "lib", "x86_64-linux-gnu"), join(dir, "lib", "x86_64-linux-gnu")].join(":"),
  };
}

let cached: Promise<HostOpenssh> | undefined;

/** The unpacked sshd (downloaded and unpacked on first use). */
export function hostOpenssh(env: Record<string, string | undefined> = process.env): Promise<HostOpenssh> {
  cached ??= (async () => {
    const root = fixturesRoot(env);
    const dir = join(root, "openssh");
    if (existsSync(join(dir, DONE))) return paths(dir);
    await mkdir(root, { recursive: true });
    return withLock(join(root, "openssh.lock"), { what: "the unpacked openssh-server" }, async () => {
      if (existsSync(join(dir, DONE))) return paths(dir);
      if (!existsSync("/usr/bin/ssh-keygen")) throw new Error("ssh-keygen is missing: install openssh-client (scripts/setup.sh --test does)");
      const tmp = await mkdtemp(join(root, ".openssh-"));
      try {
        const debs = join(tmp, "debs");
        await mkdir(debs);
        await run(["apt-get", "download", ...OPENSSH_PACKAGES], { cwd: debs });
        const tree = join(tmp, "tree");
        for (const deb of (await readdir(debs)).filter((f) => f.endsWith(".deb")).sort()) {
          await run(["dpkg-deb", "-x", join(debs, deb), tree]);
        }
        await writeFile(join(tree, DONE), `${JSON.stringify({ packages: OPENSSH_PACKAGES, debs: (await readdir(debs)).sort() })}\n`);
        await rm(dir, { recursive: true, force: true });
        await rename(tree, dir);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      if (!existsSync(paths(dir).sshd)) throw new Error(`the openssh-server package holds no ${paths(dir).sshd}`);
      return paths(dir);
    });
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
