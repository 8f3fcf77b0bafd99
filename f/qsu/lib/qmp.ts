// A minimal QMP client: connect to QEMU's control socket, leave the greeting's
// capabilities negotiation, run one command, return its answer.

import { createConnection } from "node:net";

export interface QmpReply {
  return?: unknown;
  error?: { class: string; desc: string };
}

export function qmpCommand(socketPath: string, execute: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<QmpReply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = "";
    let stage = 0; // 0: greeting, 1: capabilities, 2: command
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${execute} on ${socketPath}: no answer after ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err: Error | null, reply?: QmpReply) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    sock.on("error", (err) => done(new Error(`QMP ${execute} on ${socketPath}: ${err.message}`)));
    sock.on("data", (chunk) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if ("event" in msg) continue;
        if (stage === 0 && "QMP" in msg) {
          stage = 1;
          sock.write(`${JSON.stringify({ execute: "qmp_capabilities" })}\n`);
        } else if (stage === 1 && ("return" in msg || "error" in msg)) {
          if ("error" in msg) return done(new Error(`QMP capabilities: ${JSON.stringify(msg.error)}`));
          stage = 2;
          sock.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
        } else if (stage === 2 && ("return" in msg || "error" in msg)) {
          return done(null, msg as QmpReply);
        }
      }
    });
  });
}
