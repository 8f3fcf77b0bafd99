// Progress for long work. On a Windmill worker (WM_JOB_ID and WM_TOKEN set) it calls
// windmill-client's setProgress; locally it prints a progress line. It never throws:
// a progress report that fails must not fail the build.

export interface ProgressSink {
  report(percent: number, note?: string): Promise<void>;
}

export function onWindmill(env: Record<string, string | undefined> = process.env): boolean {
  return Boolean(env.WM_JOB_ID && env.WM_TOKEN && env.WM_BASE_URL);
}

export function clampPercent(percent: number): number {
  if (!Number.isFinite(percent)) return 0;
  return Math.max(0, Math.min(100, Math.round(percent)));
}

/** The local progress line: `[progress  42%] compile 1234/2900`. */
export function progressLine(percent: number, note?: string): string {
  const p = String(clampPercent(percent)).padStart(3, " ");
  return `[progress ${p}%]${note ? ` ${note}` : ""}`;
}

let lastLocal = -1;

export async function setProgress(percent: number, note?: string): Promise<void> {
  const p = clampPercent(percent);
  try {
    if (onWindmill()) {
      const wm = await import("windmill-client");
      await wm.setProgress(p);
      return;
    }
  } catch (err) {
    console.error(`progress: could not report to Windmill (${(err as Error).message})`);
  }
  if (p === lastLocal && !note) return;
  lastLocal = p;
  console.log(progressLine(p, note));
}

/**
 * Progress from a count of done units against an expected total, throttled so that a
 * make log of thousands of lines reports at most once per percent.
 */
export function progressCounter(total: number, label: string, lo = 0, hi = 100): (done: number) => void {
  let last = -1;
  return (done: number) => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const p = Math.floor(lo + (hi - lo) * frac);
    if (p === last) return;
    last = p;
    void setProgress(p, `${label} ${done}/${total}`);
  };
}
