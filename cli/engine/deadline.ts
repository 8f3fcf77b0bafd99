// Timeouts as moments: a module's `timeout` (seconds) starts a deadline when the module
// starts; a flow module's deadline covers every step of its sub-flow, and a step inside
// it is killed at whichever comes first, its own timeout or the enclosing deadline. Pure:
// the clock is passed in (milliseconds, performance.now() in the runner).

export interface Deadline {
  /** The clock reading at which it passes. */
  at: number;
  /** What the failed step says when it passes. */
  message: string;
}

/** The deadline inside a module with `seconds` of timeout, starting now, within an enclosing one. */
export function within(outer: Deadline | undefined, seconds: number | undefined, message: string, now: number): Deadline | undefined {
  if (typeof seconds !== "number") return outer;
  const at = now + seconds * 1000;
  return outer !== undefined && outer.at <= at ? outer : { at, message };
}

export function hasPassed(d: Deadline | undefined, now: number): boolean {
  return d !== undefined && now >= d.at;
}

/** How long a job may run (at least 1 ms once started), and what to say when it is killed. */
export function jobLimit(d: Deadline | undefined, now: number): { timeoutMs: number; message: string } | undefined {
  if (d === undefined) return undefined;
  return { timeoutMs: Math.max(1, d.at - now), message: d.message };
}
