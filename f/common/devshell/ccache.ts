// One ccache configuration shared by the kernel and QEMU builds, under
// SYSTEM_DIR/ccache, so both hit the same cache. base_dir is the worker slot: ccache
// rewrites absolute paths below it to relative ones, so two slots (or a shared tree)
// share hits.

import { join } from "node:path";
import { writeFileAtomic } from "../atomic.ts";
import { InputError } from "../errors.ts";

export interface CcacheConf {
  cacheDir: string;
  maxSize: string;
  baseDir: string;
}

export const DEFAULT_CCACHE_MAX_SIZE = "10G";

/** Accepts ccache's own size syntax: 10G, 500M, 10GiB, 1.5T. */
export function checkCcacheSize(value: string): string {
  if (!/^\d+(\.\d+)?\s*(k|M|G|T|Ki|Mi|Gi|Ti)?i?B?$/i.test(value.trim())) {
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
    "",
  ].join("\n");
}

/** Write ccache.conf inside the cache dir and return the environment that selects it. */
export async function writeCcacheConf(conf: CcacheConf): Promise<{ path: string; env: Record<string, string> }> {
  const path = join(conf.cacheDir, "ccache.conf");
  await writeFileAtomic(path, renderCcacheConf(conf));
  return { path, env: { CCACHE_CONFIGPATH: path, CCACHE_DIR: conf.cacheDir } };
}
