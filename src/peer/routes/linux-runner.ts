// Runs the commands of commands.ts one after another (ip, nft) and sets IPv4 forwarding. The one
// place subnet routes and exit nodes touch the host; route-manager.ts drives it through RouteSystem
// so tests use a recording twin.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../../util/log.js';
import type { Argv } from './commands.js';

export interface RouteSystem {
  /** Runs argv lists in order; `bestEffort` failures are logged at debug, others at warn. Resolves when done. */
  run(cmds: readonly Argv[], bestEffort?: boolean): Promise<boolean>;
  /** `nft -f -` with this ruleset. */
  nft(ruleset: string): Promise<boolean>;
  /** Turns IPv4 forwarding on; false (and a warning) when it cannot. */
  enableForwarding(): boolean;
}

/** Local tuning: a hung `ip` or `nft` must not wedge the queue. */
const commandTimeoutMs = 5000;

function exec(argv: Argv, input?: string): Promise<{ ok: boolean; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: commandTimeoutMs }, (e, _out, stderr) => resolve({ ok: !e, err: String(stderr || e?.message || '').trim() }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

export class LinuxRouteSystem implements RouteSystem {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: Logger) {}

  run(cmds: readonly Argv[], bestEffort = false): Promise<boolean> {
    const job = this.queue.then(async () => {
      let all = true;
      for (const argv of cmds) {
        const r = await exec(argv);
        if (r.ok) this.log.debug({ cmd: argv.join(' ') }, 'routes: ran');
        else {
          all = false;
          this.log[bestEffort ? 'debug' : 'warn']({ cmd: argv.join(' '), err: r.err }, 'routes: command failed');
        }
      }
      return all;
    });
    this.queue = job;
    return job;
  }

  nft(ruleset: string): Promise<boolean> {
    const job = this.queue.then(async () => {
      const r = await exec(['nft', '-f', '-'], ruleset);
      if (!r.ok) this.log.warn({ err: r.err }, 'routes: nft failed: forwarded traffic is not masqueraded (is nftables installed?)');
      return r.ok;
    });
    this.queue = job;
    return job;
  }

  enableForwarding(): boolean {
    const path = '/proc/sys/net/ipv4/ip_forward';
    try {
      if (readFileSync(path, 'utf8').trim() === '1') return true;
      writeFileSync(path, '1');
      this.log.warn('routes: turned on IPv4 forwarding (net.ipv4.ip_forward=1) to forward for the routes this peer offers; it stays on after exit');
      return true;
    } catch (e) {
      this.log.warn({ err: String(e) }, 'routes: IPv4 forwarding is off and cannot be turned on: offered routes will not work (sysctl -w net.ipv4.ip_forward=1)');
      return false;
    }
  }
}
