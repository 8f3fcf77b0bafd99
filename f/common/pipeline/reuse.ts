// Reuse: once a build's identity is known (after configure, before compile), a build
// whose identity is already published returns the published manifest instead of
// compiling again. Shared by the kernel and QEMU builds.

import type { z } from "zod";
import { workbenchLayout, type WorkbenchLayout } from "../layout.ts";
import { lookupPublishedEntry } from "./store.ts";

export interface ReuseDecision<M> {
  reuse: boolean;
  /** Why: "disabled", "not published", "published", "invalid manifest". */
  reason: string;
  manifest: M | null;
  store_path: string | null;
}

/** Look the identity up in the Store and decide. The manifest comes back with reused: true. */
export async function decideReuse<T extends z.ZodTypeAny>(
  schema: T,
  project: string,
  identity: string,
  enabled: boolean,
  layout: WorkbenchLayout = workbenchLayout(),
): Promise<ReuseDecision<z.infer<T>>> {
  if (!enabled) return { reuse: false, reason: "disabled", manifest: null, store_path: null };
  const entry = await lookupPublishedEntry(project, identity, layout);
  if (!entry) return { reuse: false, reason: "not published", manifest: null, store_path: null };
  const parsed = schema.safeParse({ ...(entry.manifest as object), reused: true });
  if (!parsed.success) {
    console.log(`reuse: the published manifest of ${entry.key} does not validate any more; building again`);
    return { reuse: false, reason: "invalid manifest", manifest: null, store_path: null };
  }
  console.log(`reuse: identity ${identity} is published as ${entry.key} (${entry.store_path}); skipping the build`);
  return { reuse: true, reason: "published", manifest: parsed.data, store_path: entry.store_path };
}
