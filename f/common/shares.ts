// One rule for a share's tag, wherever a share is named: the closure's planner (the tag
// the guest mounts) and the boot planner (the tag the host exports) check the same
// thing, so a share that passes one passes the other. A virtio-fs tag is at most 36
// bytes (the tag field of virtio-fs's config space); store and modules are the boot
// flow's own shares. Pure.

export const RESERVED_TAGS = ["store", "modules"] as const;

const TAG = /^[A-Za-z0-9_-]{1,36}$/;

export const TAG_EXPECTED = `a share tag of 1 to 36 letters, digits, '_' or '-', other than ${RESERVED_TAGS.join(" and ")} (the boot flow shares those)`;

/** Null when `tag` may name a user share; else what was expected. */
export function tagProblem(tag: string): string | null {
  return TAG.test(tag) && !(RESERVED_TAGS as readonly string[]).includes(tag) ? null : TAG_EXPECTED;
}

/** The default tag of a share: its guest path as a slug, cut to 36 characters. */
export function tagFromTarget(target: string): string {
  const slug = target.replace(/^\/+/, "").replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
  return (slug || "share").slice(0, 36);
}
