// What init and fetch return, per source: the mirror and Bare paths, how many refs
// each holds, what this run did and which refs changed since the last run. Pure.

import type { BareResult } from "./bare.ts";
import type { RefChanges } from "./refs.ts";

export interface SourceReport {
  name: string;
  url: string | null;
  mirror: string | null;
  bare: string | null;
  mirror_refs: number | null;
  bare_refs: number | null;
  /** Developer branches in the Bare (refs/heads/*), untouched by every fetch. */
  branches: number | null;
  action: { mirror: string | null; bare: string | null };
  changes: { mirror: RefChanges | null; bare: RefChanges | null };
  repaired: string[];
  error: string | null;
}

const str = (v: unknown) => (typeof v === "string" ? v : null);
const num = (v: unknown) => (typeof v === "number" ? v : null);

/** Combine one source's mirror result (as the first step returned it) and Bare result. */
export function summarise(mirror: Record<string, unknown>, bare: BareResult | null, error: string | null): SourceReport {
  return {
    name: String(mirror.name),
    url: str(mirror.url),
    mirror: str(mirror.mirror),
    bare: bare?.bare ?? null,
    mirror_refs: num(mirror.refs),
    bare_refs: bare?.refs ?? null,
    branches: bare?.branches ?? null,
    action: { mirror: str(mirror.action), bare: bare?.action ?? null },
    changes: { mirror: (mirror.changes as RefChanges | undefined) ?? null, bare: bare?.changes ?? null },
    repaired: [...((mirror.repaired as string[] | undefined) ?? []), ...(bare?.repaired ?? [])],
    error,
  };
}
