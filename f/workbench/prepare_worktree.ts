// prepare_worktree: the first step of the kernel and QEMU builds. Resolves `ref` in the
// project's Bare and syncs this worker's warm worktree (or a shared named one) to it,
// creating build/ and destdir/ inside. Waits, and says so, while another build holds
// the same slot. See docs/workbench.md.

import { prepareWorktreeDetailed } from "./worktree.ts";

export async function main(project: string, ref: string, shared: boolean = false, recreate_worktree: boolean = false, shared_name: string = "") {
  return prepareWorktreeDetailed({
    project,
    ref,
    shared,
    sharedName: shared_name === "" ? undefined : shared_name,
    recreate: recreate_worktree,
  });
}
