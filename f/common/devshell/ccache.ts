// One ccache configuration shared by the kernel and QEMU builds, under
// SYSTEM_DIR/ccache, so both hit the same cache. base_dir is the worker slot: ccache
// rewrites absolute paths below it to relative ones, so two slots (or a shared tree)
// share hits.

import { isAbsolute, join } from "node:path";
import { writeFileAtomic } from "../atomic.ts";
import { InputError } from "../errors.ts";
import { systemPaths, type WorkbenchLayout } from "../layout.ts";

export interface CcacheConf {
  cacheDir: string;
  maxSize: string;
  baseDir: string;
}

export const DEFAULT_CCACHE_MAX_SIZE = "10G";

/**
 * ccache puts LANG, LC_ALL, LC_CTYPE and LC_MESSAGES in every hash, because they may
 * change the language of the compiler's warnings (ccache's manual, "sloppiness",
 * `locale`). A Windmill job starts with none of them (f/common/job_env.ts) and a
 * developer's shell usually has LANG, so without this sloppiness a build by hand with
 * the shared ccache.conf and a flow build never hit each other's entries. A cached
 * warning may then be replayed in the other language; the objects are the same.
 */
export const CCACHE_SLOPPINESS = "locale";

/**
 * The cache folder: SYSTEM_DIR/ccache, unless KDEVFLOW_CCACHE_DIR names another absolute
 * folder (tests point it at a persistent cache outside their temporary Workbench, so a
 * fresh Workbench does not mean a cold compile).
 */
export function ccacheDirFor(layout: WorkbenchLayout, env: Record<string, string | undefined> = process.env): string {
  const override = env.KDEVFLOW_CCACHE_DIR;
  if (override) {
    if (!isAbsolute(override)) throw new InputError("KDEVFLOW_CCACHE_DIR", "an absolute path", override);
    return override;
  }
  return systemPaths.ccache(layout);
}

/**
 * Accepts ccache's own size syntax: 10G, 500M, 10GiB, 1.5T, 10 (GB). ccache reads the
 * suffix case-sensitively (k or K, M, G, T; an `i` after it means powers of 1024) and
 * refuses `10g` or `500m` at build time, so they are refused here, up front.
 */
export function checkCcacheSize(value: string): string {
  if (!/^\d+(\.\d+)?\s*([kKMGT]i?B?)?$/.test(value.trim())) {
    throw new InputError("ccache_max_size", "a size such as 10G, 500M or 10GiB", value);
  }
  return value.trim().replace(/\s+/g, "");
}

export function renderCcacheConf(conf: CcacheConf): string {
  return [
    "# written by kdevflow: shared by the kernel and QEMU builds",
    `cache_dir = ${conf.cacheDir}`,
    `max_size = ${checkCcacheSize(conf.maxSize)}`,
    `base_dir = ${conf.baseDir}`,
    "compiler_check = content",
    `sloppiness = ${CCACHE_SLOPPINESS}`,
    "",
  ].join("\n");
}

/** Write ccache.conf inside the cache dir and return the environment that selects it. */
export async function writeCcacheConf(conf: CcacheConf): Promise<{ path: string; env: Record<string, string> }> {
  const path = join(conf.cacheDir, "ccache.conf");
  await writeFileAtomic(path, renderCcacheConf(conf));
  return { path, env: { CCACHE_CONFIGPATH: path, CCACHE_DIR: conf.cacheDir } };
}
