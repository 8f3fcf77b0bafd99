// The environment variables kdevflow's steps read, beyond what every Windmill job gets.
//
// A Windmill worker starts each job with a cleared environment: PATH, HOME, TZ,
// BASE_URL, the WM_* variables, and the worker variables its WHITELIST_ENVS names
// (backend windmill-common/src/worker.rs, load_whitelist_env_vars_from_env and
// load_env_vars). A whitelisted variable the worker does not have reaches the job as an
// empty string, so code here treats "" as "not set". A worker that runs kdevflow sets
// WHITELIST_ENVS to this list (README, docs/deploy.md); the local engine passes exactly
// this list unless its own WHITELIST_ENVS says otherwise. A test keeps the README's line
// and this list equal, and another that every variable a module under f/ reads is here.

/** What each variable is for, in the order the README lists them. */
export const JOB_ENV_VARIABLES = {
  SYSTEM_DIR: "host singletons: mirrors, Bares, Store index, ccache (f/common/layout.ts)",
  WORKERS_DIR: "one slot per worker (f/common/layout.ts)",
  WORKER_INDEX: "this worker's slot under WORKERS_DIR (f/common/layout.ts)",
  KDEVFLOW_WORKBENCH: "the Workbench root the two above default from (f/common/layout.ts)",
  KDEVFLOW_NIXOS_FLAKE: "the nixos-flake library when a flow input does not name one (f/common/nix.ts)",
  KDEVFLOW_NIX_OPTIONS: "extra nix --option pairs (f/common/nix.ts)",
  KDEVFLOW_CCACHE_DIR: "a ccache folder outside SYSTEM_DIR (f/common/devshell/ccache.ts)",
  KDEVFLOW_UNIT_DIR: "where guest units are written (f/qsu/lib/names.ts)",
  KDEVFLOW_VIRTIOFSD: "the virtiofsd binary (f/qsu/lib/virtiofsd.ts)",
  XDG_RUNTIME_DIR: "the user service manager's runtime folder (f/qsu)",
  DBUS_SESSION_BUS_ADDRESS: "the user bus systemctl --user falls back to (f/qsu/lib/systemctl.ts)",
  XDG_CONFIG_HOME: "the user unit folder when KDEVFLOW_UNIT_DIR is not set (f/qsu/lib/names.ts)",
  XDG_DATA_HOME: "the default Workbench root (f/common/layout.ts)",
} as const;

/** The names a worker's WHITELIST_ENVS must hold for kdevflow, in README order. */
export const JOB_ENV_WHITELIST: readonly string[] = Object.keys(JOB_ENV_VARIABLES);

/** The value of WHITELIST_ENVS for a kdevflow worker: the names joined by commas. */
export function whitelistEnvsValue(): string {
  return JOB_ENV_WHITELIST.join(",");
}
