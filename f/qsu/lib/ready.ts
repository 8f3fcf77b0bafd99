// "Is the guest really up?": a line on its serial console matching a marker, or an SSH
// banner on the forwarded port. Polled with a deadline; a guest whose QEMU ended before
// it was up is a failure with the console's last lines, not a wait until the timeout.

import { readFile } from "node:fs/promises";
import { createConnection } from "node:net";

export interface MarkerMatch {
  line: string;
  /** The first capture group, when the marker has one (the test closure's `uname -r`). */
  captured: string | null;
}

export function findMarker(consoleText: string, marker: string): MarkerMatch | null {
  const re = new RegExp(marker);
  for (const line of consoleText.split(/\r?\n/)) {
    const m = re.exec(line);
    if (m) return { line, captured: m[1] ?? null };
  }
  return null;
}

export function tailLines(text: string, n: number): string {
  return text.split(/\r?\n/).filter((l) => l.trim()).slice(-n).join("\n");
}

export async function readConsole(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return "";
  }
}

/** Resolves with the banner line when something on the port speaks SSH first, else null. */
export function sshBanner(port: number, host = "127.0.0.1", timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    let buf = "";
    const finish = (v: string | null) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.on("error", () => finish(null));
    sock.on("close", () => finish(null));
    sock.on("data", (c) => {
      buf += c.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) finish(buf.startsWith("SSH-") ? buf.slice(0, nl).trim() : null);
    });
  });
}

export interface WaitOptions {
  consoleLog: string;
  marker: string | null;
  sshPort: number | null;
  timeoutMs: number;
  /** False once QEMU has ended (the guest can no longer come up). */
  stillRunning: () => Promise<boolean>;
  pollMs?: number;
}

export interface ReadyResult {
  how: "marker" | "ssh";
  line: string;
  captured: string | null;
  seconds: number;
}

export class GuestNotReady extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GuestNotReady";
  }
}

export async function waitReady(o: WaitOptions): Promise<ReadyResult> {
  const started = Date.now();
  const poll = o.pollMs ?? 100;
  let lastAsked = 0;
  for (;;) {
    const seconds = (Date.now() - started) / 1000;
    if (o.marker) {
      const hit = findMarker(await readConsole(o.consoleLog), o.marker);
      if (hit) return { how: "marker", line: hit.line, captured: hit.captured, seconds };
    }
    if (o.sshPort) {
      const banner = await sshBanner(o.sshPort, "127.0.0.1", 500);
      if (banner) return { how: "ssh", line: banner, captured: null, seconds };
    }
    // The console is a file read every poll; asking the manager is a command, once a second.
    const ask = Date.now() - lastAsked >= 1000;
    if (ask) lastAsked = Date.now();
    if (ask && !(await o.stillRunning())) {
      // One last look: QEMU may have printed the marker and powered off in between.
      if (o.marker) {
        const hit = findMarker(await readConsole(o.consoleLog), o.marker);
        if (hit) return { how: "marker", line: hit.line, captured: hit.captured, seconds };
      }
      throw new GuestNotReady(`the guest stopped before it was up; last console lines:\n${tailLines(await readConsole(o.consoleLog), 20)}`);
    }
    if (Date.now() - started > o.timeoutMs) {
      throw new GuestNotReady(`the guest was not up after ${Math.round(o.timeoutMs / 1000)} s; last console lines:\n${tailLines(await readConsole(o.consoleLog), 20)}`);
    }
    await new Promise((r) => setTimeout(r, poll));
  }
}
