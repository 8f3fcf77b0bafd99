// The command runner: shell quoting that a real shell reads back verbatim, the printed
// command line, streamed and captured output, and CommandError's exit code and tail, a
// timeout and a missing program.

import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { capture, CommandError, LineTail, quoteArg, run, shellQuote } from "../../f/common/run.ts";

afterEach(() => vi.restoreAllMocks());

const silence = () => {
  const logged: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void logged.push(a.join(" ")));
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  return logged;
};

const AWKWARD: string[] = [
  "",
  "plain",
  "with space",
  "it's",
  "'",
  "''",
  "\"double\"",
  "$HOME",
  "${PATH}",
  "`id`",
  "$(id)",
  "a\nb",
  "tab\there",
  "*",
  "?",
  "[a-z]",
  "~",
  "~root",
  "a;b",
  "a&&b",
  "a|b",
  "<in",
  ">out",
  "back\\slash",
  "!",
  "#comment",
  "-n",
  "--flag=value",
  "x=1",
  "%s",
  "é ü 日本",
  "trailing space ",
  " ",
];

/** What a real shell makes of a command line: the words printf receives, NUL-separated. */
async function shellWords(shell: string, quoted: string): Promise<string[]> {
  const res = await run([shell, "-c", `printf '%s\\0' ${quoted}`], { capture: true, quiet: true });
  // run() adds one newline after the last (unterminated) line.
  return res.stdout.replace(/\n$/, "").split("\0").slice(0, -1);
}

describe("quoteArg / shellQuote", () => {
  it.each([
    ["plain", "plain"],
    ["path/to/file.ts", "path/to/file.ts"],
    ["--target-list=x86_64-softmmu", "--target-list=x86_64-softmmu"],
    ["", "''"],
    ["a b", "'a b'"],
    ["it's", "'it'\\''s'"],
    ["$HOME", "'$HOME'"],
  ])("quoteArg(%j) = %s", (arg, quoted) => {
    expect(quoteArg(arg)).toBe(quoted);
  });

  it.each([["sh"], ["bash"]])("every awkward argument survives a round trip through a real %s", async (shell) => {
    // The quoted line is what a user pastes into a terminal: the shell must split it back
    // into exactly the original arguments.
    silence();
    expect(await shellWords(shell, shellQuote(AWKWARD))).toEqual(AWKWARD);
  });

  it("each argument alone survives too (no argument leans on its neighbours)", async () => {
    silence();
    for (const arg of AWKWARD) expect(await shellWords("sh", quoteArg(arg))).toEqual([arg]);
  });
});

describe("run", () => {
  it("prints the shell-quoted command (and its folder) before running it", async () => {
    const logged = silence();
    const dir = await realpath(await mkdtemp(join(tmpdir(), "kdevflow-run-")));
    try {
      await run(["sh", "-c", "exit 0", "a b"], { cwd: dir });
      expect(logged[0]).toBe(`+ sh -c 'exit 0' 'a b' (in ${dir})`);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it("streams each line to the log and hands it to onLine with its stream; captures when asked", async () => {
    silence();
    const seen: [string, string][] = [];
    const res = await run(["sh", "-c", "echo out1; echo err1 >&2; printf 'no newline'"], {
      capture: true,
      onLine: (line, stream) => seen.push([stream, line]),
    });
    expect(res.stdout).toBe("out1\nno newline\n");
    expect(res.stderr).toBe("err1\n");
    expect(seen).toContainEqual(["stdout", "out1"]);
    expect(seen).toContainEqual(["stderr", "err1"]);
    expect(seen).toContainEqual(["stdout", "no newline"]);
    expect(process.stdout.write).toHaveBeenCalledWith("out1\n");
    expect(process.stderr.write).toHaveBeenCalledWith("err1\n");
    expect(res.exitCode).toBe(0);
    expect(res.durationMs).toBeGreaterThan(0);
  });

  it("quiet keeps output out of the log", async () => {
    silence();
    await run(["echo", "hidden"], { quiet: true });
    expect(process.stdout.write).not.toHaveBeenCalledWith("hidden\n");
  });

  it("passes input, cwd and extra environment; replaceEnv drops the rest", async () => {
    silence();
    expect(await capture(["cat"], { input: "fed through stdin\n" })).toBe("fed through stdin");
    const dir = await realpath(await mkdtemp(join(tmpdir(), "kdevflow-run-")));
    try {
      expect(await capture(["pwd"], { cwd: dir })).toBe(dir);
    } finally {
      await rm(dir, { recursive: true });
    }
    process.env.KDEVFLOW_RUN_TEST_OUTER = "outer";
    try {
      expect(await capture(["sh", "-c", 'echo "$KDEVFLOW_RUN_TEST_X $KDEVFLOW_RUN_TEST_OUTER"'], { env: { KDEVFLOW_RUN_TEST_X: "x" } })).toBe("x outer");
      expect(await capture(["/bin/sh", "-c", 'echo "[$KDEVFLOW_RUN_TEST_OUTER]"'], { env: { PATH: "/usr/bin:/bin" }, replaceEnv: true })).toBe("[]");
    } finally {
      delete process.env.KDEVFLOW_RUN_TEST_OUTER;
    }
  });

  it("raises a CommandError with the exit code and the last lines of output", async () => {
    silence();
    const argv = ["sh", "-c", "for i in $(seq 1 60); do echo line$i; done; echo oops >&2; exit 3"];
    const err = await run(argv).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    const ce = err as CommandError;
    expect(ce.exitCode).toBe(3);
    expect(ce.timedOut).toBe(false);
    expect(ce.argv).toEqual(argv);
    expect(ce.tail).toHaveLength(40);
    expect(ce.tail.at(-1)).toBe("oops");
    expect(ce.tail[0]).toBe("line22");
    expect(ce.message.split("\n")[0]).toBe(`command exited with status 3: ${shellQuote(argv)}`);
    expect(ce.message).toContain("line60\noops");
  });

  it("tailLines sets how much output the error keeps", async () => {
    silence();
    const err = (await run(["sh", "-c", "seq 1 10; exit 1"], { tailLines: 3 }).catch((e: unknown) => e)) as CommandError;
    expect(err.tail).toEqual(["8", "9", "10"]);
  });

  it("allowFailure returns the exit code instead of raising", async () => {
    silence();
    const res = await run(["sh", "-c", "exit 7"], { allowFailure: true });
    expect(res.exitCode).toBe(7);
  });

  it("kills a command that runs past its timeout and says so", async () => {
    silence();
    const err = (await run(["sleep", "30"], { timeoutMs: 300 }).catch((e: unknown) => e)) as CommandError;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.timedOut).toBe(true);
    expect(err.exitCode).toBeNull(); // killed, not exited
    expect(err.message).toMatch(/^command timed out: sleep 30/);
  });

  it("stops a command when its cancel signal aborts, and says it was canceled", async () => {
    silence();
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const started = Date.now();
    const res = await run(["sleep", "30"], { cancel: stop.signal, allowFailure: true });
    expect(res.canceled).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    const done = await run(["true"], { cancel: new AbortController().signal });
    expect(done.canceled).toBe(false);
  });

  it("a program that does not exist is a CommandError saying so, not a crash", async () => {
    silence();
    const err = (await run(["kdevflow-no-such-program", "x"]).catch((e: unknown) => e)) as CommandError;
    expect(err).toBeInstanceOf(CommandError);
    expect(err.exitCode).toBeNull();
    expect(err.tail).toEqual(["kdevflow-no-such-program: command not found"]);
  });

  it("refuses an empty argument vector", async () => {
    await expect(run([])).rejects.toThrow(/empty argument vector/);
    await expect(run([""])).rejects.toThrow(/empty argument vector/);
  });

  it("capture returns trimmed stdout and prints no output", async () => {
    silence();
    expect(await capture(["printf", "  value\\n\\n"])).toBe("value");
    expect(process.stdout.write).not.toHaveBeenCalled();
  });
});

describe("LineTail", () => {
  it("keeps the last lines in order", () => {
    const t = new LineTail(2);
    for (const l of ["a", "b", "c"]) t.push(l);
    expect(t.get()).toEqual(["b", "c"]);
  });
});
