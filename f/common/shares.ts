// One rule for a share's tag, wherever a share is named: the closure's planner (the tag
// the guest mounts, nixos-flake.shares.<mount point>.tag) and the boot planner (the tag
// the host's virtiofsd exports) check the same thing, so a share that passes one passes
// the other. A virtio-fs tag is at most 36 bytes (the tag field of virtio-fs's config
// space). The boot flow names one unit per share, virtiofsd@<vm>-<tag>, and splits the
// instance back at its last '-', so a tag holds letters, digits and '_' only. `store` and
// `modules` are the library's boot contract (/nix/store and /lib/modules), which the boot
// flow shares itself. Pure.

export const RESERVED_TAGS = ["store", "modules"] as const;

const TAG = /^[A-Za-z0-9_]{1,36}$/;

export const TAG_EXPECTED = `a share tag of 1 to 36 letters, digits or '_', other than ${RESERVED_TAGS.join(" and ")} (the boot flow shares those)`;

/** Null when `tag` may name a user share; else what was expected. */
export function tagProblem(tag: string): string | null {
  return TAG.test(tag) && !(RESERVED_TAGS as readonly string[]).includes(tag) ? null : TAG_EXPECTED;
}

/** The default tag of a share: its guest path as a slug (/mnt/host data: mnt_host_data), at most 36 characters. */
export function tagFromTarget(target: string): string {
  const slug = target.replace(/^\/+/, "").replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  const tag = (slug || "share").slice(0, 36).replace(/_+$/, "");
  return (RESERVED_TAGS as readonly string[]).includes(tag) ? `${tag}_share` : tag;
}
