// Reading a built closure's bootspec (RFC-0125): $toplevel/boot.json holds an
// `org.nixos.bootspec.v1` object naming the stage-2 `init` and the `initrd`. An
// imageless system (boot.kernel.enable = false) has no $out/kernel or $out/initrd
// links, so the bootspec is the only place these come from.

import { z } from "zod";

export const BOOTSPEC_KEY = "org.nixos.bootspec.v1";

const storePath = z.string().regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+(\/.*)?$/, "a /nix/store path");

const BootspecV1 = z.object({
  init: storePath,
  initrd: storePath,
  toplevel: storePath.optional(),
  kernelParams: z.array(z.string()).default([]),
  label: z.string().optional(),
  system: z.string().optional(),
});

export interface Bootspec {
  init: string;
  initrd: string;
  toplevel: string | null;
  kernelParams: string[];
  label: string | null;
}

export class BootspecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BootspecError";
  }
}

/** Parse boot.json's text; `where` (the file's path) goes into every error. */
export function parseBootspec(text: string, where: string): Bootspec {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BootspecError(`${where} is not valid JSON (${(err as Error).message}): the closure's bootspec is malformed`);
  }
  if (!data || typeof data !== "object" || Array.isArray(data) || !(BOOTSPEC_KEY in data)) {
    throw new BootspecError(`${where} has no "${BOOTSPEC_KEY}" object: the closure's bootspec is malformed`);
  }
  const parsed = BootspecV1.safeParse((data as Record<string, unknown>)[BOOTSPEC_KEY]);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length ? issue.path.join(".") : BOOTSPEC_KEY;
    throw new BootspecError(`${where}: ${BOOTSPEC_KEY}.${at} is ${issue.code === "invalid_type" && issue.message.includes("undefined") ? "missing" : `invalid (${issue.message})`}`);
  }
  const v = parsed.data;
  return { init: v.init, initrd: v.initrd, toplevel: v.toplevel ?? null, kernelParams: v.kernelParams, label: v.label ?? null };
}
