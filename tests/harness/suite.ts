// A test file's shared setup (build a closure, start a manager) that fails its tests
// instead of skipping them. vitest reports every test of a file whose beforeAll threw or
// timed out as skipped; here the setup still starts once, in beforeAll (under the long
// hook timeout), but the hook itself never fails: each test awaits the setup, so a
// broken setup fails every test with the setup's own error, and one still running when
// the hook gives up fails them by the test timeout.

import { beforeAll } from "vitest";

export function suiteSetup<T>(setup: () => Promise<T>, timeoutMs = 1_800_000): () => Promise<T> {
  let started: Promise<T> | undefined;
  const get = () => (started ??= setup());
  beforeAll(async () => {
    let timer: NodeJS.Timeout | undefined;
    // Give up waiting just before vitest would fail the hook (and skip the tests).
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(1000, timeoutMs - 5000))));
    await Promise.race([get().then(() => undefined, () => undefined), deadline]);
    clearTimeout(timer);
  }, timeoutMs);
  return get;
}
