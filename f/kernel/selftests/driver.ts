// The guest side of a kselftest run: a POSIX sh script (busybox ash, dash and bash
// alike) that runs the selected tests of an installed kselftest tree one at a time and
// prints KTAP the way run_kselftest.sh does (ktap.ts reads it): a header per test, its
// output prefixed "# " line by line as it comes (through a FIFO and awk with fflush, so
// a test that hangs the guest has its last words on the host), and a result line with
// the exit status and the time from /proc/uptime.
//
// Each test runs in its own session (setsid), with a watchdog that kills that whole
// process group with SIGKILL at the timeout; whatever a test leaves running in its group
// is killed when it ends, so a child holding the output open cannot stall the run.
// `timeout(1)` is not enough: busybox's kills only the test's own process, and a shell
// test's `sleep` then keeps the pipe open forever.
//
// Why not run_kselftest.sh itself: its per-test timeout is fixed per collection (a
// `settings` file in the read-only install; 6.1 has no override), it only times out
// when /usr/bin/timeout exists, and it prints no exit status for a pass and no times.
//
// The script reaches the guest as one argument of `sh -c` in the ssh command line, the
// install folder, the timeout and the test names as positional arguments after it;
// ssh joins its arguments into one line for the remote shell, so each is single-quoted
// (quoteArg). Pure.

import { quoteArg } from "../../common/run.ts";

/** $0 of the driver in the guest (shows in ps). */
export const DRIVER_NAME = "kdevflow-kselftest";

export const DRIVER_SCRIPT = `set -u
dir=$1; limit=$2; shift 2
say() { printf '%s\\n' "$*"; }
for tool in setsid mkfifo sleep awk mktemp; do
  command -v "$tool" >/dev/null 2>&1 || { say "Bail out! the guest has no $tool"; exit 3; }
done
cd "$dir" 2>/dev/null || { say "Bail out! the guest has no kselftest install at $dir"; exit 3; }
work=$(mktemp -d) || { say "Bail out! mktemp -d failed in the guest"; exit 3; }
trap 'rm -rf "$work"' EXIT
cs() { read -r up _ < /proc/uptime; echo $(( \${up%.*} * 100 + 1\${up#*.} - 100 )); }
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
  rm -f "$work/out"
  mkfifo "$work/out"
  awk '{ print "# " $0; fflush() }' < "$work/out" &
  printer=$!
  start=$(cs)
  ( cd "$c" && exec setsid "./$t" ) < /dev/null > "$work/out" 2>&1 &
  pid=$!
  ( exec setsid sh -c 'sleep "$1"; kill -KILL "-$2"' watchdog "$limit" "$pid" ) > /dev/null 2>&1 &
  dog=$!
  wait "$pid"
  rc=$?
  end=$(cs)
  kill -KILL "-$dog" 2>/dev/null
  kill -KILL "-$pid" 2>/dev/null
  wait "$printer"
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

/** What the remote shell runs: `sh -c <driver> kdevflow-kselftest <dir> <timeout> <tests...>`, each word quoted for it. */
export function driverCommand(installDir: string, timeoutS: number, tests: readonly string[]): string {
  if (!Number.isInteger(timeoutS) || timeoutS < 1) throw new Error(`driverCommand: a timeout of whole seconds, got ${timeoutS}`);
  return ["sh", "-c", DRIVER_SCRIPT, DRIVER_NAME, installDir, String(timeoutS), ...tests].map(quoteArg).join(" ");
}
