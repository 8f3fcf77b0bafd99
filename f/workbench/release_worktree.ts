// release_worktree: the failure module of the build flows. A build that fails after
// prepare_worktree gives back the worktree its run leased (f/workbench/lease.ts), so the
// next build of the slot gets the warm worktree instead of another one. Returns the
// error it was given, so the flow's result still says what failed, and the worktrees it
// released.

import { workbenchLayout } from "../common/layout.ts";
import { holderFromEnv, releaseLeases } from "./lease.ts";

export async function main(error: object | null = null) {
  const released = await releaseLeases(workbenchLayout(), holderFromEnv());
  console.log(released.length ? `release_worktree: gave back the worktree lease of ${released.join(", ")}` : "release_worktree: this run held no worktree");
  return { error, released_worktrees: released };
}
