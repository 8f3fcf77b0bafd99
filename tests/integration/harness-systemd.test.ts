// The systemd user manager harness (tests/harness/systemd.ts) on its own: it answers
// systemctl --user, runs user units and transient units, keeps the host's /run/systemd
// untouched, and stop() leaves no process, cgroup or folder behind, even with a unit
// still running.

import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { capture, run } from "../../f/common/run.ts";
import { pidsUnder, startUserManager } from "../harness/systemd.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("startUserManager", () => {
  it("runs units for real and stop() leaves nothing behind", async () => {
    const hostHadSystemd = existsSync("/run/systemd/system");
    const mgr = await startUserManager();
    let stopped = false;
    try {
      const systemctl = (...args: string[]) => capture(["systemctl", "--user", ...args], { env: mgr.env, replaceEnv: true });
      expect(["running", "degraded"]).toContain(await systemctl("show", "--property=SystemState", "--value"));
      // The fake /run/systemd/system lives only in the manager's mount namespace.
      expect(existsSync("/run/systemd/system")).toBe(hostHadSystemd);

      // A user unit from the config folder: start it, see it run, stop it.
      const marker = join(mgr.root, "ran");
      await writeFile(
        join(mgr.configDir, "kdevflow-harness-test.service"),
        `[Unit]\nDescription=harness test\n\n[Service]\nExecStartPre=/bin/sh -c 'echo started > ${marker}'\nExecStart=/bin/sleep 1000\n`,
      );
      await systemctl("daemon-reload");
      await systemctl("start", "kdevflow-harness-test.service");
      expect(await systemctl("is-active", "kdevflow-harness-test.service")).toBe("active");
      expect(existsSync(marker)).toBe(true);
      const mainPid = Number(await systemctl("show", "--property=MainPID", "--value", "kdevflow-harness-test.service"));
      expect(alive(mainPid)).toBe(true);
      // The unit's process sits under the manager's own cgroup.
      expect(mgr.cgroups.flatMap(pidsUnder)).toContain(mainPid);

      // A transient unit through systemd-run --user.
      const out = await capture(["systemd-run", "--user", "--wait", "--quiet", "--collect", "--pipe", "/bin/sh", "-c", "echo transient-$((6*7))"], { env: mgr.env, replaceEnv: true });
      expect(out).toBe("transient-42");

      // Stop with the sleeping unit still running.
      await mgr.stop();
      stopped = true;
      expect(alive(mgr.pid)).toBe(false);
      expect(alive(mainPid)).toBe(false);
      expect(existsSync(mgr.root)).toBe(false);
      for (const cg of mgr.cgroups) expect(existsSync(cg)).toBe(false);
    } finally {
      if (!stopped) await mgr.stop();
    }
  });

  it("two managers at once do not see each other's units", async () => {
    const [a, b] = await Promise.all([startUserManager(), startUserManager()]);
    try {
      await writeFile(join(a.configDir, "only-in-a.service"), "[Service]\nExecStart=/bin/sleep 1000\n");
      await run(["systemctl", "--user", "daemon-reload"], { env: a.env, replaceEnv: true, quiet: true });
      await run(["systemctl", "--user", "start", "only-in-a.service"], { env: a.env, replaceEnv: true, quiet: true });
      const inB = await run(["systemctl", "--user", "is-active", "only-in-a.service"], { env: b.env, replaceEnv: true, capture: true, quiet: true, allowFailure: true });
      expect(inB.stdout.trim()).not.toBe("active");
      expect(a.runtimeDir).not.toBe(b.runtimeDir);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
