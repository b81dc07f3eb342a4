// Tells the host's resolver about the mesh domain without touching /etc/resolv.conf (issue 23):
// with systemd-resolved, per link (`resolvectl dns <tun> <addr>; resolvectl domain <tun> ~<domain>`),
// so only that domain goes to meshd; without it, one log line says what the user can add.
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import type { Logger } from '../../util/log.js';

export function resolvedCommands(tun: string, address: string, domain: string): string[][] {
  return [
    ['resolvectl', 'dns', tun, address],
    ['resolvectl', 'domain', tun, `~${domain}`],
  ];
}

/** The line for hosts without systemd-resolved (dnsmasq syntax; other forwarders have the same idea). */
export function manualLine(address: string, domain: string): string {
  return `server=/${domain}/${address}`;
}

function run(argv: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => execFile(argv[0]!, argv.slice(1), { timeout: 5000 }, (e) => resolve(!e)));
}

/** True when this process shares the network namespace of PID 1 (where resolved runs). In another
 * namespace resolvectl would name our TUN's ifindex to the host's resolved, i.e. a host link. */
function inHostNetns(): boolean {
  try {
    return readlinkSync('/proc/self/ns/net') === readlinkSync('/proc/1/ns/net');
  } catch {
    return false;
  }
}

/** Configures resolved for the link, or logs the manual line; returns what status shows. */
export async function integrateResolver(tun: string, address: string, domain: string, log: Logger): Promise<string> {
  // resolvectl fails when resolved is not running (or not installed): then nothing is changed.
  let ok = inHostNetns();
  for (const argv of ok ? resolvedCommands(tun, address, domain) : []) {
    if (!(await run(argv))) {
      ok = false;
      break;
    }
  }
  if (ok) {
    log.info({ tun, dns: address, domain: `~${domain}` }, 'dns: systemd-resolved sends *.' + domain + ' to meshd on this link');
    return `systemd-resolved (${tun}, ~${domain})`;
  }
  const line = manualLine(address, domain);
  log.info({ line }, `dns: systemd-resolved not available here; to resolve *.${domain}, point a per-domain forwarder at ${address}, e.g. dnsmasq: ${line}`);
  return `systemd-resolved not available here; add to a forwarder: ${line}`;
}
