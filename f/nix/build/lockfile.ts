// The library pin in a per-VM flake.lock, and what lock_config does about it.
//
// A `path:` input is pinned by its NAR hash. When the library's files change, Nix does
// not notice: `nix flake lock` keeps the old pin and, while the old copy is still in the
// store, `nix build` silently builds it (once that copy is garbage-collected the build
// fails with "NAR hash mismatch"). lock_config therefore compares the pin with the
// library's current hash on every run: `update_lock` re-pins; without it the pin is kept
// (the lock is there for reproducibility) and the run says loudly that it is stale.

export const LIBRARY_INPUT = "nixos-flake";

export interface LibraryPin {
  narHash: string | null;
  /** The locked path of a path: input, or null for other input types. */
  path: string | null;
  lastModified: number | null;
}

/** The library's pin in a flake.lock's text; null when the lock has none. */
export function libraryPin(lockText: string): LibraryPin | null {
  let lock: unknown;
  try {
    lock = JSON.parse(lockText);
  } catch {
    return null;
  }
  const l = lock as { root?: string; nodes?: Record<string, { inputs?: Record<string, unknown>; locked?: Record<string, unknown> }> };
  const root = l.nodes?.[l.root ?? "root"];
  const nodeName = root?.inputs?.[LIBRARY_INPUT];
  if (typeof nodeName !== "string") return null;
  const locked = l.nodes?.[nodeName]?.locked;
  if (!locked) return null;
  return {
    narHash: typeof locked.narHash === "string" ? locked.narHash : null,
    path: locked.type === "path" && typeof locked.path === "string" ? locked.path : null,
    lastModified: typeof locked.lastModified === "number" ? locked.lastModified : null,
  };
}

export type LockAction = "lock" | "update";

export interface LockDecision {
  action: LockAction;
  /** The pinned library differs from the library's current content. */
  stale: boolean;
  /** What the step prints, and returns, about the pin. */
  note: string;
}

/**
 * Decide what lock_config runs. `pin` is the library's pin in the existing flake.lock (null
 * when there is none), `current` the library's current NAR hash (null when unknown),
 * `libraryPath` the directory a path: library points at.
 */
export function decideLock(pin: LibraryPin | null, current: string | null, libraryPath: string | null, updateLock: boolean): LockDecision {
  if (!pin) return { action: updateLock ? "update" : "lock", stale: false, note: "no library pin yet: nix flake lock pins the library as it is now" };
  if (libraryPath !== null && pin.path !== null && pin.path !== libraryPath) {
    return { action: updateLock ? "update" : "lock", stale: false, note: `the library moved from ${pin.path} to ${libraryPath}: nix flake lock pins the new location` };
  }
  const stale = current !== null && pin.narHash !== null && current !== pin.narHash;
  if (updateLock) {
    return { action: "update", stale: false, note: stale ? `update_lock: re-pinning the library (${pin.narHash} -> ${current})` : "update_lock: re-pinning the library (its content has not changed)" };
  }
  if (stale) {
    return {
      action: "lock",
      stale: true,
      note: `WARNING: the library changed since flake.lock pinned it (pinned ${pin.narHash}, now ${current}); this build uses the PINNED library. Run with update_lock: true to build with the library as it is now.`,
    };
  }
  return { action: "lock", stale: false, note: "the library pin is current" };
}
