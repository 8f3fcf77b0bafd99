// How to log into a guest, decided once: root on the forwarded SSH port of 127.0.0.1 with
// the Workbench's managed key (f/workbench/ssh_key.ts), which every closure f/nix/build
// renders authorises. A guest's host key is made at every boot (its root is a tmpfs),
// so no known_hosts entry is kept. Pure: the ssh_config entry boot writes, the ssh
// command line readiness and the boot result use.

export interface Login {
  vm: string;
  port: number;
  /** The managed private key; null when the Workbench has none. */
  key: string | null;
  /** Where boot writes the guest's ssh_config entry. */
  sshConfig: string;
}

export const LOGIN_USER = "root";
export const LOGIN_HOST = "127.0.0.1";

/** Options every login takes: no host key to trust (it is new each boot), no agent, no prompts. */
function options(l: Login): [string, string][] {
  return [
    ["HostName", LOGIN_HOST],
    ["Port", String(l.port)],
    ["User", LOGIN_USER],
    ...(l.key ? ([["IdentityFile", l.key], ["IdentitiesOnly", "yes"]] as [string, string][]) : []),
    ["StrictHostKeyChecking", "no"],
    ["UserKnownHostsFile", "/dev/null"],
    ["LogLevel", "ERROR"],
  ];
}

/** The ssh_config entry for the guest: `ssh -F <file> <vm>`. */
export function sshConfigText(l: Login): string {
  return [`# Written by kdevflow (f/qsu/boot): ssh -F ${l.sshConfig} ${l.vm}`, `Host ${l.vm}`, ...options(l).map(([k, v]) => `  ${k} ${v}`), ""].join("\n");
}

/** The ssh command line that runs `command` in the guest as root, never prompting. */
export function sshArgv(l: Login, command: readonly string[]): string[] {
  const argv = ["ssh", "-F", "/dev/null"];
  for (const [k, v] of options(l)) argv.push("-o", `${k}=${v}`);
  argv.push("-o", "BatchMode=yes", "-o", "ConnectTimeout=10", LOGIN_HOST, "--", ...command);
  return argv;
}

/** What the boot result says about logging in. */
export function loginHelp(l: Login): { user: string; host: string; port: number; key: string | null; ssh_config: string; command: string } {
  return {
    user: LOGIN_USER,
    host: LOGIN_HOST,
    port: l.port,
    key: l.key,
    ssh_config: l.sshConfig,
    command: l.key ? `ssh -p ${l.port} -i ${l.key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${LOGIN_USER}@${LOGIN_HOST}` : `ssh -p ${l.port} ${LOGIN_USER}@${LOGIN_HOST}`,
  };
}
