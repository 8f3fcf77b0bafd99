// Host ports for tests that forward one into a guest.

import { createServer } from "node:net";

/** A host port nothing listens on (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
