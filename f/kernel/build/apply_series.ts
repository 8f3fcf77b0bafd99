// apply_series: apply a b4 series on top of git_ref in the worktree. b4 gets the series
// (from lore by message-id, or offline from a local mbox with -m) and prepares it as
// one mbox; git am applies it with the committer date set to the author date, so the
// same series applied twice gives the same commits. The result is kept in the Bare as
// branch b4/<slug> so it can be rebuilt. A series that does not apply fails with git's
// reason and the worktree is left clean (git am --abort) for the next build.

import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";
import { readStepContext } from "../../common/pipeline/project.ts";
import { run } from "../../common/run.ts";
import { keepBranch } from "../../workbench/bare.ts";
import { git, gitOut } from "../../workbench/git.ts";
import { Inputs } from "./inputs.ts";
import { headOf } from "./kbuild.ts";
import { PROJECT } from "./project.ts";
import { b4AmArgv, coverSubjectOf, parseSeries, seriesBranch } from "./series.ts";

export async function main(checked: object, worktree: object) {
  const { inputs, wt } = readStepContext(Inputs, checked, worktree);
  const dir = wt.worktree;
  const b4_series = inputs.b4_series;
  const series = parseSeries(b4_series);
  if (series.kind === "none") return { applied: false, cover_subject: null, branch: null, commit: null, tree: null, patches: 0 };
  // A git am a killed build left behind would refuse to start: drop its session
  // (--quit keeps HEAD, which prepare_worktree just set to the ref).
  const gitDir = await gitOut(["git", "-C", dir, "rev-parse", "--absolute-git-dir"]);
  if (existsSync(join(gitDir, "rebase-apply"))) await git(["git", "-C", dir, "am", "--quit"]);
  const out = await mkdtemp(join(tmpdir(), "kdevflow-b4-"));
  try {
    const got = await run(b4AmArgv(series, out), { cwd: dir, allowFailure: true, capture: true });
    const files = await readdir(out);
    const mbx = files.find((f) => f.endsWith(".mbx"));
    if (got.exitCode !== 0 || !mbx) {
      const why = `${got.stderr}${got.stdout}`.trim().split("\n").slice(-5).join(" / ");
      throw new InputError("b4_series", `a series b4 can fetch and prepare (b4 am said: ${why || "nothing"})`, b4_series);
    }
    const cover = files.find((f) => f.endsWith(".cover"));
    const mbox = await readFile(join(out, mbx), "utf8");
    const subject = coverSubjectOf(cover ? await readFile(join(out, cover), "utf8") : null, mbox);
    const patches = (mbox.match(/^From [0-9a-f]{40} /gm) ?? []).length || (mbox.match(/^From /gm) ?? []).length;
    const am = await git(["git", "-C", dir, "am", "--committer-date-is-author-date", "--keep-cr", join(out, mbx)], {
      allowFailure: true,
      capture: true,
      env: { GIT_COMMITTER_NAME: "kdevflow", GIT_COMMITTER_EMAIL: "kdevflow@localhost" },
    });
    if (am.exitCode !== 0) {
      await git(["git", "-C", dir, "am", "--abort"], { allowFailure: true });
      await git(["git", "-C", dir, "reset", "--hard", "--quiet"], { allowFailure: true });
      const why = `${am.stdout}${am.stderr}`.split("\n").filter((l) => /error|failed|Patch failed|does not apply/i.test(l)).slice(0, 4).join(" / ");
      throw new Error(`b4_series: the series "${subject ?? b4_series}" does not apply on top of the ref (${why || "git am failed"}); the worktree was reset to the ref and is ready for the next build`);
    }
    const head = await headOf(dir);
    const branch = seriesBranch(subject ?? mbx.replace(/\.mbx$/, ""));
    const kept = await keepBranch(PROJECT, branch, head.commit);
    console.log(`applied ${patches} patch(es) of "${subject}"; kept as ${kept.ref} in the Bare`);
    return { applied: true, cover_subject: subject, branch, commit: head.commit, tree: head.tree, patches };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
