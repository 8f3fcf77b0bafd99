// "Is the guest really up?": a line on its serial console matching a marker, and/or SSH
// answering on the forwarded port (its banner, then, when a login is given, a command run
// over it). Polled with a deadline; a guest whose QEMU ended before it was up is a
// failure with the console's last lines, not a wait until the timeout.

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
  /** A console line to wait for (first, when SSH is waited for too). */
  marker: string | null;
  /** The forwarded port whose SSH banner is waited for. */
  sshPort: number | null;
  /**
   * After the banner: a login that runs a command in the guest and gives its output
   * (`uname -r`), or null while it does not work yet. Absent: the banner is enough.
   */
  sshLogin?: (() => Promise<string | null>) | null;
  timeoutMs: number;
  /** False once QEMU has ended (the guest can no longer come up). */
  stillRunning: () => Promise<boolean>;
  pollMs?: number;
}

export interface ReadyResult {
  how: "marker" | "ssh" | "marker and ssh";
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
  let markerHit: MarkerMatch | null = null;
  let banner: string | null = null;
  let lastLogin = 0;
  const done = (seconds: number): ReadyResult | null => {
    if (o.marker && !markerHit) return null;
    if (!o.sshPort) return { how: "marker", line: markerHit!.line, captured: markerHit!.captured, seconds };
    return null;
  };
  for (;;) {
    const seconds = (Date.now() - started) / 1000;
    if (o.marker && !markerHit) markerHit = findMarker(await readConsole(o.consoleLog), o.marker);
    const byMarker = done(seconds);
    if (byMarker) return byMarker;
    if (o.sshPort && (!o.marker || markerHit)) {
      // sshd re-executes itself for each connection: under TCG its banner can take seconds.
      banner ??= await sshBanner(o.sshPort, "127.0.0.1", 5000);
      // A login is a command: tried at most once a second.
      if (banner && o.sshLogin && Date.now() - lastLogin >= 1000) {
        lastLogin = Date.now();
        const out = await o.sshLogin();
        if (out !== null) return { how: o.marker ? "marker and ssh" : "ssh", line: banner, captured: markerHit?.captured ?? (out || null), seconds };
      } else if (banner && !o.sshLogin) {
        return { how: o.marker ? "marker and ssh" : "ssh", line: banner, captured: markerHit?.captured ?? null, seconds };
      }
    }
    // The console is a file read every poll; asking the manager is a command, once a second.
    const ask = Date.now() - lastAsked >= 1000;
    if (ask) lastAsked = Date.now();
    if (ask && !(await o.stillRunning())) {
      // One last look: QEMU may have printed the marker and powered off in between.
      if (o.marker && !o.sshPort) {
        const hit = findMarker(await readConsole(o.consoleLog), o.marker);
        if (hit) return { how: "marker", line: hit.line, captured: hit.captured, seconds };
      }
      throw new GuestNotReady(`the guest stopped before it was up; last console lines:\n${tailLines(await readConsole(o.consoleLog), 20)}`);
    }
    if (Date.now() - started > o.timeoutMs) {
      const what = o.sshPort && banner && o.sshLogin ? ` (SSH answered, but the login as root with the managed key did not succeed: is this closure built by f/nix/build of this Workbench?)` : "";
      throw new GuestNotReady(`the guest was not up after ${Math.round(o.timeoutMs / 1000)} s${what}; last console lines:\n${tailLines(await readConsole(o.consoleLog), 20)}`);
    }
    await new Promise((r) => setTimeout(r, poll));
  }
}
