// The Workbench's managed SSH key pair: SYSTEM_DIR/ssh/id_ed25519 (mode 0600) and
// id_ed25519.pub. f/workbench/init makes it once; every closure f/nix/build renders
// authorises the public key for root and the library's user, and the boot flow says how
// to log in with the private key. A host singleton, like the mirrors.
//
// Made under a lock, by ssh-keygen into temporary names renamed into place, the public
// key first: a reader that finds the private key finds its public key beside it.

import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { systemPaths, type WorkbenchLayout } from "../common/layout.ts";
import { withLock } from "../common/lock.ts";
import { run } from "../common/run.ts";

export interface ManagedKey {
  private_key: string;
  public_key: string;
  /** The public key line (what a closure authorises). */
  public_line: string;
}

export function managedKeyPaths(layout: WorkbenchLayout): { dir: string; privateKey: string; publicKey: string } {
  const dir = systemPaths.sshDir(layout);
  return { dir, privateKey: join(dir, "id_ed25519"), publicKey: join(dir, "id_ed25519.pub") };
}

/** The argument vector that makes the pair (no passphrase: guests are logged into unattended). */
export function keygenArgv(file: string, comment: string): string[] {
  return ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file];
}

/** The managed key when it exists, else null. Reads only. */
export async function readManagedKey(layout: WorkbenchLayout): Promise<ManagedKey | null> {
  const p = managedKeyPaths(layout);
  if (!existsSync(p.privateKey)) return null;
  const line = (await readFile(p.publicKey, "utf8")).trim();
  return { private_key: p.privateKey, public_key: p.publicKey, public_line: line };
}

/** The managed key, made when missing; its private key is kept at mode 0600. */
export async function ensureManagedKey(layout: WorkbenchLayout): Promise<ManagedKey & { created: boolean }> {
  const p = managedKeyPaths(layout);
  const existing = await readManagedKey(layout);
  if (existing) {
    if (((await stat(p.privateKey)).mode & 0o077) !== 0) await chmod(p.privateKey, 0o600);
    return { ...existing, created: false };
  }
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  return withLock(join(systemPaths.locks(layout), "ssh-key.lock"), { what: "the managed SSH key" }, async () => {
    const again = await readManagedKey(layout);
    if (again) return { ...again, created: false };
    const tmp = join(p.dir, `.id_ed25519.${process.pid}`);
    await rm(tmp, { force: true });
    await rm(`${tmp}.pub`, { force: true });
    await run(keygenArgv(tmp, `kdevflow@${hostname()}`));
    await chmod(tmp, 0o600);
    await rename(`${tmp}.pub`, p.publicKey);
    await rename(tmp, p.privateKey);
    console.log(`made the managed SSH key ${p.privateKey}`);
    const made = (await readManagedKey(layout))!;
    return { ...made, created: true };
  });
}
