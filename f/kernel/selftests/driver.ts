// The guest side of a kselftest run: a POSIX sh script (busybox ash, dash and bash
// alike) that runs the selected tests of an installed kselftest tree one at a time, each
// in its own session (setsid), in its folder with stdin from /dev/null. The test's
// output goes straight to the SSH channel as it is printed; the driver's own lines (the
// plan, a header per test, the result line with the exit status and the time from
// /proc/uptime) start with a mark the host chose for this run, so the host tells them
// apart from test output without the guest rewriting a byte, and turns the stream into
// the KTAP run_kselftest.sh prints (unframe). A test's last line without a newline just
// gets the next mark glued to it, and the host splits it there.
//
// The timeout is a watchdog subshell that kills the test's whole process group with
// SIGKILL: it waits with `read -t` on a FIFO nobody writes to (no process of its own, in
// ash and bash), or with sleep(1) in a shell without `read -t` (dash). The driver kills
// the watchdog by its pid (its own child, so the pid cannot have been reused) when the
// test ends, and then whatever the test left running in its group: a leftover holding
// the channel open would keep the SSH session from ending. So a test costs the guest
// about what running it by hand under timeout(1) costs: one fork and one exec more than
// the test itself, and nothing per line of output. (timeout(1) under setsid costs one
// exec more, about 60 ms a test on the TCG test guest; busybox's timeout alone kills only
// the test's own process.)
//
// Why not run_kselftest.sh itself: its per-test timeout is fixed per collection (a
// `settings` file in the read-only install; 6.1 has no override), it only times out
// when /usr/bin/timeout exists, and it prints no exit status for a pass and no times.
//
// The script is the ssh command itself, after `set -- <mark> <install> <timeout>
// <tests...>`: sshd hands it to root's login shell (bash on NixOS, ash in the test
// guest), which runs it without starting another shell (an exec is about 70 ms on the
// TCG test guest). ssh joins its arguments into one line for that shell, so each
// positional argument is single-quoted (quoteArg). Pure.

import { quoteArg } from "../../common/run.ts";

export const DRIVER_SCRIPT = `set -u
mark=$1; dir=$2; limit=$3; shift 3
say() { printf '%s%s\\n' "$mark" "$*"; }
for tool in setsid mkfifo mktemp; do
  command -v "$tool" >/dev/null 2>&1 || { say "Bail out! the guest has no $tool"; exit 3; }
done
cd "$dir" 2>/dev/null || { say "Bail out! the guest has no kselftest install at $dir"; exit 3; }
tick=$(mktemp -u) && mkfifo -m 600 "$tick" && exec 3<>"$tick" && rm -f "$tick" || { say "Bail out! the guest could not make a FIFO for the watchdog"; exit 3; }
( read -r -t 0 _ < /dev/null ) 2>/dev/null; [ $? -le 1 ] && quick=1 || quick=0
cs() { read -r up _ < /proc/uptime; now=$(( \${up%.*} * 100 + 1\${up#*.} - 100 )); }
say "TAP version 13"
say "1..$#"
n=0
for name in "$@"; do
  n=$((n + 1))
  c=\${name%:*}; t=\${name##*:}
  say "# selftests: $c: $t"
  if [ ! -f "$c/$t" ]; then
    say "# Warning: file $c/$t is missing!"
    say "not ok $n selftests: $c: $t # ERROR missing exit=127 time=0.00"
    continue
  fi
  cs; start=$now
  ( cd "$c" && exec setsid "./$t" ) < /dev/null 2>&1 3<&- &
  pid=$!
  if [ "$quick" = 1 ]; then
    ( read -r -t "$limit" _ <&3; kill -KILL "-$pid" 2>/dev/null ) &
  else
    ( sleep "$limit"; kill -KILL "-$pid" 2>/dev/null ) > /dev/null 2>&1 3<&- &
  fi
  dog=$!
  wait "$pid"
  rc=$?
  cs; end=$now
  kill -KILL "$dog" 2>/dev/null
  wait "$dog" 2>/dev/null
  kill -KILL "-$pid" 2>/dev/null
  el=$((end - start))
  time="$((el / 100)).$((el % 100 / 10))$((el % 10))"
  if [ "$rc" = 0 ]; then
    say "ok $n selftests: $c: $t # exit=0 time=$time"
  elif [ "$rc" = 4 ]; then
    say "ok $n selftests: $c: $t # SKIP exit=4 time=$time"
  elif [ "$rc" = 137 ] && [ "$el" -ge $((limit * 100)) ]; then
    say "not ok $n selftests: $c: $t # TIMEOUT $limit seconds exit=137 time=$time"
  else
    say "not ok $n selftests: $c: $t # exit=$rc time=$time"
  fi
done
`;

/** The mark of one run's driver lines, from 8 random bytes as hex: `@@kdevflow-<hex>@@`. */
export function driverMark(hex: string): string {
  if (!/^[0-9a-f]{16}$/.test(hex)) throw new Error(`driverMark: 16 hex digits, got ${JSON.stringify(hex)}`);
  return `@@kdevflow-${hex}@@`;
}

/** What the remote shell runs: `set -- <mark> <dir> <timeout> <tests...>` (each word quoted for it), then the driver. */
export function driverCommand(mark: string, installDir: string, timeoutS: number, tests: readonly string[]): string {
  if (!Number.isInteger(timeoutS) || timeoutS < 1) throw new Error(`driverCommand: a timeout of whole seconds, got ${timeoutS}`);
  return `set -- ${[mark, installDir, String(timeoutS), ...tests].map(quoteArg).join(" ")}\n${DRIVER_SCRIPT}`;
}

/**
 * One line of the session's output as KTAP lines: a driver line (from the mark on)
 * as it is, anything else as test output, prefixed "# " as run_kselftest.sh prefixes it
 * (a bare "#" for an empty line). Text before a mark is the end of a test's last line
 * that had no newline. Pure.
 */
export function unframe(line: string, mark: string): string[] {
  const at = line.indexOf(mark);
  const out = (text: string) => (text === "" ? "#" : `# ${text}`);
  if (at < 0) return [out(line)];
  const driver = line.slice(at + mark.length);
  return at > 0 ? [out(line.slice(0, at)), driver] : [driver];
}

/** A whole session's output as KTAP text (unframe, line by line). */
export function unframeText(text: string, mark: string): string {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.flatMap((l) => unframe(l, mark)).map((l) => `${l}\n`).join("");
}
