// When to retry a failed step, as a Windmill worker decides it: `constant` retries come
// first (each after `seconds`), then `exponential` ones (after multiplier * seconds^n,
// n counting every retry so far plus one). `attempts` are extra tries after the first.

import type { RetrySpec } from "./flow.ts";

/** Longest wait between two tries, as on the server (6 hours). */
export const MAX_RETRY_DELAY_SECONDS = 6 * 60 * 60;

function count(n: unknown): number {
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/**
 * Seconds to wait before the next try, given how many retries already happened, or null
 * when the retries are used up.
 */
export function retryDelaySeconds(retry: RetrySpec | undefined, retriesSoFar: number): number | null {
  if (!retry) return null;
  const constantAttempts = count(retry.constant?.attempts);
  if (retriesSoFar < constantAttempts) {
    return Math.min(count(retry.constant?.seconds), MAX_RETRY_DELAY_SECONDS);
  }
  const expAttempts = count(retry.exponential?.attempts);
  if (retriesSoFar - constantAttempts < expAttempts) {
    const multiplier = count(retry.exponential?.multiplier ?? 1);
    const base = count(retry.exponential?.seconds);
    return Math.min(multiplier * base ** (retriesSoFar + 1), MAX_RETRY_DELAY_SECONDS);
  }
  return null;
}

/** Total tries a retry spec allows (the first one included). */
export function maxTries(retry: RetrySpec | undefined): number {
  return 1 + count(retry?.constant?.attempts) + count(retry?.exponential?.attempts);
}
