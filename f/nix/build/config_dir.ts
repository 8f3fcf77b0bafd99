// Checks shared by the steps that take a rendered config directory.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../common/errors.ts";

/** An absolute directory holding a rendered flake.nix (render_config's output). */
export function checkConfigDir(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/") || /[\s\0]/.test(value)) {
    throw new InputError("config_dir", "the absolute path of a per-VM config directory (render_config's config_dir)", value);
  }
  const dir = value.replace(/(.)\/+$/, "$1");
  if (!existsSync(join(dir, "flake.nix"))) {
    throw new InputError("config_dir", "a directory holding a rendered flake.nix (run render_config first)", dir);
  }
  return dir;
}

/** The flake reference of a config directory: always path:, so no git is involved. */
export function configFlakeRef(dir: string): string {
  return `path:${dir}`;
}
