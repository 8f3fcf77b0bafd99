// The Workbench's managed SSH key pair (f/workbench/ssh_key.ts, the managed_key step of
// f/workbench/init), made with the real ssh-keygen: once, private key 0600, the same pair
// on every later call, one pair when several runs ask at once.

import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { workbenchLayout } from "../../f/common/layout.ts";
import { capture } from "../../f/common/run.ts";
import { main as managedKey } from "../../f/workbench/managed_key.ts";
import { ensureManagedKey, managedKeyPaths, readManagedKey } from "../../f/workbench/ssh_key.ts";

const roots: string[] = [];
function layoutIn(): ReturnType<typeof workbenchLayout> {
  const root = mkdtempSync(join(tmpdir(), "kdevflow-key-"));
  roots.push(root);
  return workbenchLayout({ KDEVFLOW_WORKBENCH: root });
}
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe("the managed SSH key", () => {
  it("is made once, ed25519, private key 0600, and kept on the next call", async () => {
    const layout = layoutIn();
    expect(await readManagedKey(layout)).toBeNull();
    const first = await ensureManagedKey(layout);
    const p = managedKeyPaths(layout);
    expect(first).toMatchObject({ private_key: p.privateKey, public_key: p.publicKey, created: true });
    expect(statSync(p.privateKey).mode & 0o777).toBe(0o600);
    expect(first.public_line).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* kdevflow@\S+$/);
    // The public key is the private key's.
    expect((await capture(["ssh-keygen", "-y", "-f", p.privateKey])).trim().split(" ").slice(0, 2)).toEqual(first.public_line.split(" ").slice(0, 2));
    const again = await ensureManagedKey(layout);
    expect(again).toEqual({ ...first, created: false });
    expect(readFileSync(p.privateKey, "utf8")).toContain("OPENSSH PRIVATE KEY");
  });

  it("puts a private key whose mode drifted back to 0600", async () => {
    const layout = layoutIn();
    const made = await ensureManagedKey(layout);
    chmodSync(made.private_key, 0o644);
    await ensureManagedKey(layout);
    expect(statSync(made.private_key).mode & 0o777).toBe(0o600);
  });

  it("is one pair when runs ask at once", async () => {
    const layout = layoutIn();
    const all = await Promise.all([ensureManagedKey(layout), ensureManagedKey(layout), ensureManagedKey(layout)]);
    expect(new Set(all.map((k) => k.public_line)).size).toBe(1);
    expect(all.filter((k) => k.created)).toHaveLength(1);
  });

  it("the f/workbench/init step makes it in the Workbench of its environment", async () => {
    const layout = layoutIn();
    const saved = process.env.KDEVFLOW_WORKBENCH;
    process.env.KDEVFLOW_WORKBENCH = layout.root;
    try {
      const res = await managedKey();
      expect(res.private_key).toBe(join(layout.systemDir, "ssh", "id_ed25519"));
      expect((await managedKey()).created).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.KDEVFLOW_WORKBENCH;
      else process.env.KDEVFLOW_WORKBENCH = saved;
    }
  });
});
