// A kselftest session (f/kernel/selftests/session.ts) over a real local process: the
// guest driver under busybox sh in its own process group stands in for the ssh session,
// so the session's streaming, output file, verdict events and end states run for real.
// A "guest" that freezes is the group stopped with SIGSTOP (what QMP `stop` does to a
// guest); one that dies is the group killed. The probe reads the process's state from
// /proc, as the flow's probe reads QEMU's unit and the guest's answer.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driverCommand, driverMark } from "../../f/kernel/selftests/driver.ts";
import { parseKtapRun, type KtapEvent } from "../../f/kernel/selftests/ktap.ts";
import { endState, runSession, type GuestProbe } from "../../f/kernel/selftests/session.ts";
import { writeScriptInstall } from "../harness/selftests.ts";

let root: string;
const install = () => join(root, "kselftest");
const TESTS: Record<string, string> = {
  "c/pass": "echo 'ok 1 fine'; exit 0",
  "c/fail": "echo 'not ok 1 broken'; exit 1",
  "c/hang": "echo waiting; sleep 600",
  "c/last": "echo 'ok 1 last'; exit 0",
};
const NAMES = ["c:pass", "c:fail", "c:hang", "c:last"];
const MARK = driverMark("fedcba9876543210");

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kdevflow-session-"));
  await writeScriptInstall(install(), TESTS);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

// The "guest": the driver in its own session (its group id in <dir>/pid), its output
// relayed by `cat` from a FIFO, as ssh relays a remote session: stopping the session
// (SIGTERM to cat) ends the host side even when the guest side is frozen.
const GUEST_SH = `dir=$1; shift
mkfifo "$dir/fifo"
setsid busybox sh -c 'echo $$ > "$1"; exec busybox sh -c "$2"' guest "$dir/pid" "$1" < /dev/null > "$dir/fifo" 2>&1 &
exec cat "$dir/fifo"
`;

function guestArgv(pidFile: string, timeoutS: number, names: readonly string[], dir = install()): string[] {
  return ["sh", "-c", GUEST_SH, "guest", join(pidFile, ".."), driverCommand(MARK, dir, timeoutS, names)];
}

async function groupOf(pidFile: string): Promise<number> {
  return Number((await readFile(pidFile, "utf8")).trim());
}

/** Every descendant of `pid` (from /proc/<pid>/task/<pid>/children), children first. */
async function descendants(pid: number): Promise<number[]> {
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "")).split(/\s+/).filter(Boolean).map(Number);
  const out: number[] = [];
  for (const k of kids) out.push(k, ...(await descendants(k)));
  return out;
}

/** The whole "guest" dies at once: its leader and everything below it (the tests run in sessions of their own). */
async function killGuest(pidFile: string): Promise<void> {
  const leader = await groupOf(pidFile);
  for (const p of [leader, ...(await descendants(leader))]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** "dead" when the group leader is gone, "hung" when it is stopped, else answers. */
async function probeProcess(pidFile: string): Promise<GuestProbe> {
  const pid = await groupOf(pidFile);
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null || / Z /.test(stat)) return { kind: "dead", detail: `process ${pid} is gone` };
  if (/\) T /.test(stat)) return { kind: "hung", detail: `process ${pid} is stopped` };
  return { kind: "answers" };
}

/** A session over NAMES with the "guest" in a new folder; `act` sees each event and the guest's pid file. */
async function guestSession(o: { timeoutS: number; graceS: number; installDir?: string; probe?: () => Promise<GuestProbe>; act?: (e: KtapEvent, pidFile: string) => void }) {
  const dir = await mkdtemp(join(root, "run-"));
  const pidFile = join(dir, "pid");
  const started = Date.now();
  const res = await runSession({
    argv: guestArgv(pidFile, o.timeoutS, NAMES, o.installDir),
    mark: MARK,
    selected: NAMES,
    timeoutS: o.timeoutS,
    graceS: o.graceS,
    outputFile: join(dir, "output.ktap"),
    probe: o.probe ?? (() => probeProcess(pidFile)),
    onEvent: (e) => o.act?.(e, pidFile),
  });
  return { res, dir, pidFile, seconds: (Date.now() - started) / 1000 };
}

describe("a kselftest session over a real process", () => {
  it("runs to the end: every verdict streamed in order, the output kept line by line, state complete", { timeout: 60_000 }, async () => {
    const seen: string[] = [];
    const { res, dir } = await guestSession({
      timeoutS: 1,
      graceS: 5,
      act: (e) => {
        if (e.kind === "result") seen.push(`${e.test.name}=${e.test.status}`);
      },
    });
    expect(res).toMatchObject({ state: "complete", note: null, exitCode: 0 });
    expect(seen).toEqual(["c:pass=pass", "c:fail=fail", "c:hang=timeout", "c:last=pass"]);
    expect(parseKtapRun(await readFile(join(dir, "output.ktap"), "utf8")).tests).toEqual(res.parsed.tests);
  });

  it("a guest that freezes mid-test ends the run at the test's timeout plus grace, marked guest-hung, with what came before", { timeout: 60_000 }, async () => {
    const { res, pidFile, seconds } = await guestSession({
      timeoutS: 1,
      graceS: 2,
      // Freeze the whole "guest" as soon as the hanging test starts: its watchdog too.
      act: (e, pid) => {
        if (e.kind === "start" && e.name === "c:hang") void groupOf(pid).then((g) => process.kill(-g, "SIGSTOP"));
      },
    });
    try {
      expect(res.state).toBe("guest-hung");
      expect(res.note).toMatch(/^the guest stopped answering during c:hang: process \d+ is stopped$/);
      expect(res.parsed.tests.map((t) => t.name)).toEqual(["c:pass", "c:fail"]);
      expect(res.parsed.open?.name).toBe("c:hang");
      expect(seconds).toBeGreaterThanOrEqual(3);
      expect(seconds).toBeLessThan(20);
    } finally {
      await killGuest(pidFile);
    }
  });

  it("a guest that dies mid-test ends the run at once, marked guest-died, the open test named", { timeout: 60_000 }, async () => {
    const { res, seconds } = await guestSession({
      timeoutS: 30,
      graceS: 30,
      act: (e, pid) => {
        if (e.kind === "start" && e.name === "c:hang") setTimeout(() => void killGuest(pid), 300);
      },
    });
    expect(res.state).toBe("guest-died");
    expect(res.note).toMatch(/^the guest died during c:hang: /);
    expect(res.parsed.open).toMatchObject({ name: "c:hang", log: ["waiting"] });
    expect(seconds).toBeLessThan(20);
  });

  it("a driver that cannot start says why, as an interrupted run", { timeout: 60_000 }, async () => {
    const { res, dir } = await guestSession({ timeoutS: 1, graceS: 1, installDir: join(root, "nowhere"), probe: async () => ({ kind: "answers" }) });
    expect(res).toMatchObject({ state: "interrupted", note: `the guest driver bailed out: the guest has no kselftest install at ${join(root, "nowhere")}` });
    expect(existsSync(join(dir, "output.ktap"))).toBe(true);
  });
});

describe("how a session ended", () => {
  const parsed = (tests: number, open: string | null = null) => ({ plan: 3, tests: Array.from({ length: tests }, () => ({}) as never), open: open ? ({ name: open } as never) : null, bailout: null, other: [] });
  it.each([
    [{ parsed: parsed(3), exitCode: 0, overran: null, probe: null }, "complete", null],
    [{ parsed: parsed(1, "c:x"), exitCode: 255, overran: null, probe: { kind: "dead", detail: "qemu-system@st is inactive" } }, "guest-died", "the guest died during c:x: qemu-system@st is inactive"],
    [{ parsed: parsed(1, "c:x"), exitCode: 255, overran: null, probe: { kind: "hung", detail: "QMP status paused" } }, "guest-hung", "the guest stopped answering during c:x: QMP status paused"],
    [{ parsed: parsed(1, "c:x"), exitCode: 143, overran: "c:x", probe: { kind: "answers" } }, "interrupted", "no verdict for c:x in its timeout and grace, though the guest answers; the session was stopped"],
    [{ parsed: parsed(2), exitCode: 255, overran: null, probe: { kind: "answers" } }, "interrupted", "the session ended with status 255 after 2 of 3 tests (Connection reset)"],
    [{ parsed: parsed(3), exitCode: 1, overran: null, probe: { kind: "answers" } }, "interrupted", "the session ended with status 1 after 3 of 3 tests (Connection reset)"],
  ])("%j is %s", (o, state, note) => {
    expect(endState({ ...(o as unknown as Parameters<typeof endState>[0]), selected: 3, stderrTail: ["", "Connection reset"] })).toEqual({ state, note });
  });
});
