// Readiness over SSH and the early failure, against real sockets and files (no guest).

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GuestNotReady, sshBanner, waitReady } from "../../f/qsu/lib/ready.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function listen(greeting: string | null, delayMs = 0): Promise<number> {
  const srv = createServer((sock) => {
    sock.on("error", () => undefined);
    if (greeting !== null) setTimeout(() => sock.end(greeting), delayMs);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return (srv.address() as { port: number }).port;
}

async function freePort(): Promise<number> {
  const port = await listen(null);
  await new Promise<void>((r) => servers.pop()!.close(() => r()));
  return port;
}

describe("SSH banner", () => {
  it("is the first line of a server that speaks SSH", async () => {
    expect(await sshBanner(await listen("SSH-2.0-OpenSSH_9.2p1 Debian\r\n"))).toBe("SSH-2.0-OpenSSH_9.2p1 Debian");
  });
  it("is null for a server that speaks something else, or nothing listening", async () => {
    expect(await sshBanner(await listen("HTTP/1.1 400 Bad Request\r\n"))).toBeNull();
    expect(await sshBanner(await freePort())).toBeNull();
  });
});

describe("waitReady", () => {
  it("waits for an SSH banner that comes late (slirp accepts before sshd answers)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-ready-"));
    try {
      const port = await listen("SSH-2.0-test\n", 300);
      const r = await waitReady({ consoleLog: join(dir, "console.log"), marker: null, sshPort: port, timeoutMs: 10_000, stillRunning: async () => true });
      expect(r).toMatchObject({ how: "ssh", line: "SSH-2.0-test" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gives up when QEMU has ended, with the console's last lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-ready-"));
    try {
      const log = join(dir, "console.log");
      await writeFile(log, "Linux version 6.1\nKernel panic - not syncing: VFS\n");
      const err = await waitReady({ consoleLog: log, marker: "NEVER", sshPort: null, timeoutMs: 10_000, stillRunning: async () => false }).catch((e) => e);
      expect(err).toBeInstanceOf(GuestNotReady);
      expect(err.message).toMatch(/stopped before it was up; last console lines:\nLinux version 6.1\nKernel panic/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("gives up at the timeout", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-ready-"));
    try {
      const err = await waitReady({ consoleLog: join(dir, "none.log"), marker: "NEVER", sshPort: null, timeoutMs: 300, stillRunning: async () => true }).catch((e) => e);
      expect(err.message).toMatch(/^the guest was not up after 0 s/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("with a login, is up only once the login works after the banner, and reports what it printed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-ready-"));
    try {
      const port = await listen("SSH-2.0-test\n");
      let tries = 0;
      const sshLogin = async () => (++tries < 3 ? null : "6.1.192-test\n".trim());
      const r = await waitReady({ consoleLog: join(dir, "console.log"), marker: null, sshPort: port, sshLogin, timeoutMs: 20_000, stillRunning: async () => true });
      expect(r).toMatchObject({ how: "ssh", line: "SSH-2.0-test", captured: "6.1.192-test" });
      expect(tries).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("with a marker and SSH, waits for the marker first, then SSH, and keeps the marker's group", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-ready-"));
    try {
      const log = join(dir, "console.log");
      const port = await listen("SSH-2.0-test\n");
      const logins: number[] = [];
      setTimeout(() => void writeFile(log, "UP release=6.1-x\n"), 400);
      const r = await waitReady({ consoleLog: log, marker: "UP release=(\\S+)", sshPort: port, sshLogin: async () => (logins.push(Date.now()), "6.1-x"), timeoutMs: 20_000, stillRunning: async () => true });
      expect(r).toMatchObject({ how: "marker and ssh", captured: "6.1-x" });
      expect(logins).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("says so when SSH answers but the login never works", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kdevflow-ready-"));
    try {
      const port = await listen("SSH-2.0-test\n");
      const err = await waitReady({ consoleLog: join(dir, "none.log"), marker: null, sshPort: port, sshLogin: async () => null, timeoutMs: 1500, stillRunning: async () => true }).catch((e) => e);
      expect(err).toBeInstanceOf(GuestNotReady);
      expect(err.message).toMatch(/SSH answered, but the login as root with the managed key did not succeed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
