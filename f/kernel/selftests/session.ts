// One kselftest session: run the guest driver through a command (ssh into the guest, in
// the flow), turn its output into KTAP as it arrives (unframe: the driver's marked lines
// as they are, test output prefixed "# "), keep that (output.ktap, line by line, so a
// host that dies keeps what came), read each verdict as it arrives, and decide how the
// run ended.
//
// A test gets its timeout plus a grace to report: the driver kills it at the timeout, so
// no verdict by then means the session or the guest is stuck. Then, or when the command
// ends before every selected test reported, the guest is looked at (`probe`): QEMU gone
// is guest-died, a guest that does not answer is guest-hung, a guest that answers means
// the session itself broke (interrupted). The command is stopped in any of these cases
// and the results so far stand. The decisions are in `endState`; the rest runs them.

import { createWriteStream } from "node:fs";
import { setProgress } from "../../common/progress.ts";
import { run } from "../../common/run.ts";
import { unframe } from "./driver.ts";
import { KtapRun, type KtapEvent, type ParsedRun } from "./ktap.ts";
import type { RunState } from "./results.ts";

/** What a look at the guest finds: QEMU running and the guest answering, QEMU gone, or no answer. */
export type GuestProbe = { kind: "answers" } | { kind: "dead"; detail: string } | { kind: "hung"; detail: string };

export interface SessionOptions {
  /** The command that runs the driver (ssh ... sh -c <driver> ...). */
  argv: string[];
  /** The mark of the driver's lines in this run (driverMark). */
  mark: string;
  selected: readonly string[];
  timeoutS: number;
  /** Seconds past a test's timeout before the host stops waiting for its verdict. */
  graceS: number;
  /** output.ktap: every stdout line, as it arrives. */
  outputFile: string;
  probe: () => Promise<GuestProbe>;
  /** Each verdict as it arrives (the flow prints it). */
  onEvent?: (e: KtapEvent) => void;
}

export interface SessionResult {
  state: RunState;
  note: string | null;
  parsed: ParsedRun;
  exitCode: number;
  seconds: number;
}

/** Why the session ended, from what the host saw. Pure. */
export function endState(o: {
  parsed: ParsedRun;
  selected: number;
  exitCode: number;
  overran: string | null;
  probe: GuestProbe | null;
  stderrTail: readonly string[];
}): { state: RunState; note: string | null } {
  const all = o.parsed.tests.length >= o.selected && !o.parsed.open;
  if (all && !o.overran && o.exitCode === 0 && !o.parsed.bailout) return { state: "complete", note: null };
  const during = o.parsed.open ? ` during ${o.parsed.open.name}` : "";
  if (o.probe?.kind === "dead") return { state: "guest-died", note: `the guest died${during}: ${o.probe.detail}` };
  if (o.probe?.kind === "hung") return { state: "guest-hung", note: `the guest stopped answering${during}: ${o.probe.detail}` };
  if (o.parsed.bailout) return { state: "interrupted", note: `the guest driver bailed out: ${o.parsed.bailout}` };
  if (o.overran) return { state: "interrupted", note: `no verdict for ${o.overran} in its timeout and grace, though the guest answers; the session was stopped` };
  const why = o.stderrTail.filter(Boolean).slice(-3).join(" / ");
  return { state: "interrupted", note: `the session ended with status ${o.exitCode} after ${o.parsed.tests.length} of ${o.selected} tests${why ? ` (${why})` : ""}` };
}

export async function runSession(o: SessionOptions): Promise<SessionResult> {
  const started = Date.now();
  const out = createWriteStream(o.outputFile, { flags: "a" });
  const ktap = new KtapRun();
  const stop = new AbortController();
  const stderr: string[] = [];
  let deadline: { name: string; at: number } | null = null;
  let overran: string | null = null;
  let done = 0;
  const limitMs = (o.timeoutS + o.graceS) * 1000;

  const watch = setInterval(() => {
    if (deadline && Date.now() > deadline.at && !overran) {
      overran = deadline.name;
      console.log(`selftests: no verdict for ${deadline.name} after ${o.timeoutS + o.graceS} s; stopping the session`);
      stop.abort();
    }
  }, 250);
  let res;
  try {
    res = await run(o.argv, {
      quiet: true,
      allowFailure: true,
      cancel: stop.signal,
      tailLines: 20,
      onLine: (line, stream) => {
        if (stream === "stderr") {
          stderr.push(line);
          console.error(`guest: ${line}`);
          return;
        }
        for (const k of unframe(line, o.mark)) {
          out.write(`${k}\n`);
          for (const e of ktap.push(k)) {
            if (e.kind === "start") deadline = { name: e.name, at: Date.now() + limitMs };
            if (e.kind === "result") {
              deadline = null;
              done++;
              const t = e.test;
              console.log(`[${done}/${o.selected.length}] ${t.status.toUpperCase()} ${t.name}${t.duration_s !== null ? ` (${t.duration_s.toFixed(2)} s)` : ""}${t.reason && t.status !== "pass" ? `: ${t.reason}` : ""}`);
              void setProgress((100 * done) / Math.max(1, o.selected.length), `${done}/${o.selected.length} tests`);
            }
            o.onEvent?.(e);
          }
        }
      },
    });
  } finally {
    clearInterval(watch);
    await new Promise<void>((resolve) => out.end(resolve));
  }
  const parsed = ktap.result();
  const finished = parsed.tests.length >= o.selected.length && !parsed.open && !overran && res.exitCode === 0 && !parsed.bailout;
  const probe = finished ? null : await o.probe();
  const { state, note } = endState({ parsed, selected: o.selected.length, exitCode: res.exitCode, overran, probe, stderrTail: stderr });
  if (note) console.log(`selftests: ${state}: ${note}`);
  return { state, note, parsed, exitCode: res.exitCode, seconds: (Date.now() - started) / 1000 };
}
