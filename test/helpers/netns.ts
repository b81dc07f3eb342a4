// Network-namespace lab for e2e tests and benchmarks (root only; see NETLAB.md). Used by
// test/e2e/* and bench/*. All names carry a per-run prefix; everything is torn down by dispose(),
// by a process 'exit' hook, and stale labs of dead runs are swept when a new Lab starts.
//
//   const lab = new Lab();                       // sweeps stale labs, registers exit cleanup
//   const a = lab.host('a');                     // namespace "<prefix>-a", lo up; returns its name
//   const r = lab.host('r', { forward: true });  // a router: net.ipv4.ip_forward=1
//   const l = lab.link(a, r, '192.0.2.2/24', '192.0.2.1/24');   // veth pair -> { a: 'v1a', b: 'v1b' }
//   lab.route(a, 'default', '192.0.2.1');        // ip route replace default via 192.0.2.1
//   lab.nat(r, wanIf, lanIf, { symmetric: false });   // masquerade + WAN drop of `ct state new`
//   lab.loss(r, wanIf, 5);                       // 5 % random loss each way on that link (nft numgen)
//   lab.exec(a, ['ping', '-c', '1', '192.0.2.1']);    // sync; throws LabError with stderr on failure
//   lab.sh(a, 'ip -br addr');                    // sync shell inside the namespace, returns stdout
//   const p = lab.spawn(a, 'node', ['x.mjs']);   // child in the namespace, killed by dispose()
//   lab.dispose();                               // idempotent; kills children, deletes namespaces
//
// Link names are short (v<n>a / v<n>b) and unique per lab; they are created directly inside
// their namespaces, so they never collide with links of the host or of other runs.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Every lab namespace matches this: m<pid>x<rand>-<host>. */
const labNameRe = /^m(\d+)x[0-9a-f]{4}-/;

export class LabError extends Error {
  readonly code = 'LAB';
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv synchronously (bounded by timeoutMs); throws LabError with stderr unless allowFail. */
export function run(argv: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number; input?: string } = {}): RunResult {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000, input: opts.input });
  const res = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!opts.allowFail && r.status !== 0) {
    throw new LabError(`${argv.join(' ')} -> ${r.status ?? r.signal ?? r.error?.message}: ${res.stderr.trim()}`);
  }
  return res;
}

/** Runs argv inside namespace ns. */
export function execIn(ns: string, argv: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number; input?: string } = {}): RunResult {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes lab namespaces whose creating process is gone. */
export function sweepStaleLabs(): string[] {
  const r = run(['ip', 'netns', 'list'], { allowFail: true });
  const swept: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = labNameRe.exec(ns);
    if (m === null || pidAlive(Number(m[1]))) continue;
    run(['ip', 'netns', 'del', ns], { allowFail: true });
    swept.push(ns);
  }
  return swept;
}

export interface NatOptions {
  /** Random source ports per flow (masquerade random,fully-random): a hard, symmetric-like NAT. */
  symmetric?: boolean;
  /** Drop unsolicited `ct state new` arriving on the WAN link, as home routers do (default true). */
  dropUnsolicited?: boolean;
}

export interface LinkOptions {
  /** Keep TSO/GSO/GRO on (default off: loss rules then drop packets, not 64 KB bursts). */
  offloads?: boolean;
  mtu?: number;
}

export class Lab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private linkCount = 0;
  private lossCount = 0;
  private disposed = false;
  private readonly exitHook = (): void => this.dispose();

  constructor() {
    sweepStaleLabs();
    this.prefix = `m${process.pid}x${randomBytes(2).toString('hex')}`;
    process.on('exit', this.exitHook);
  }

  /** Creates namespace `<prefix>-<name>` with lo up; returns the namespace name. */
  host(name: string, opts: { forward?: boolean } = {}): string {
    const ns = `${this.prefix}-${name}`;
    run(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    if (opts.forward) this.exec(ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    return ns;
  }

  /** A veth pair between namespaces a and b with addresses "A.B.C.D/len" (or '' for none), up. */
  link(a: string, b: string, addrA: string, addrB: string, opts: LinkOptions = {}): { a: string; b: string } {
    const n = ++this.linkCount;
    const ifA = `v${n}a`;
    const ifB = `v${n}b`;
    run(['ip', 'link', 'add', ifA, 'netns', a, 'type', 'veth', 'peer', 'name', ifB, 'netns', b]);
    for (const [ns, dev, addr] of [[a, ifA, addrA], [b, ifB, addrB]] as const) {
      if (addr !== '') this.exec(ns, ['ip', 'addr', 'add', addr.includes('/') ? addr : `${addr}/24`, 'dev', dev]);
      if (opts.mtu !== undefined) this.exec(ns, ['ip', 'link', 'set', dev, 'mtu', String(opts.mtu)]);
      if (!opts.offloads) this.offloadsOff(ns, dev);
      this.exec(ns, ['ip', 'link', 'set', dev, 'up']);
    }
    return { a: ifA, b: ifB };
  }

  /** ip route replace <dst> via <via> (dst may be 'default'). */
  route(ns: string, dst: string, via: string): void {
    this.exec(ns, ['ip', 'route', 'replace', dst, 'via', via]);
  }

  /** Turns TSO/GSO/GRO off on a link (ethtool); silently skipped if ethtool is missing. */
  offloadsOff(ns: string, dev: string): void {
    this.exec(ns, ['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off'], { allowFail: true });
  }

  /** Home-router NAT in `router`: forwarding, masquerade out of wanIf, WAN-side drop of new flows. */
  nat(router: string, wanIf: string, lanIf: string, opts: NatOptions = {}): void {
    this.exec(router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const masq = opts.symmetric ? 'masquerade random,fully-random' : 'masquerade';
    const drop = opts.dropUnsolicited ?? true;
    const rules = [
      'table ip meshd_nat {',
      '  chain post { type nat hook postrouting priority srcnat; policy accept;',
      `    oifname "${wanIf}" iifname "${lanIf}" ${masq}`,
      '  }',
      '}',
      'table inet meshd_fw {',
      // Before conntrack confirms the entry, so an unsolicited packet leaves no mapping behind.
      '  chain pre { type filter hook prerouting priority -150; policy accept;',
      drop ? `    iifname "${wanIf}" ct state new drop` : '',
      '  }',
      '}',
    ].join('\n');
    this.exec(router, ['nft', '-f', '-'], { input: rules });
  }

  /** Random loss of `percent` % on iface, each direction ('in', 'out' or 'both'), via nft numgen. */
  loss(ns: string, iface: string, percent: number, dir: 'in' | 'out' | 'both' = 'both'): void {
    if (!(percent >= 0 && percent <= 100)) throw new LabError(`loss percent ${percent} out of 0..100`);
    const t = `meshd_loss${++this.lossCount}`;
    const lines = [`table inet ${t} {`];
    if (dir !== 'out') {
      lines.push(`  chain in { type filter hook prerouting priority -300; policy accept;`);
      lines.push(`    iifname "${iface}" numgen random mod 100 < ${Math.round(percent)} drop`, '  }');
    }
    if (dir !== 'in') {
      lines.push(`  chain out { type filter hook postrouting priority 300; policy accept;`);
      lines.push(`    oifname "${iface}" numgen random mod 100 < ${Math.round(percent)} drop`, '  }');
    }
    lines.push('}');
    this.exec(ns, ['nft', '-f', '-'], { input: lines.join('\n') });
  }

  /** Runs argv in ns (sync, bounded); throws LabError unless allowFail. */
  exec(ns: string, argv: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number; input?: string } = {}): RunResult {
    return execIn(ns, argv, opts);
  }

  /** Runs a shell script in ns; returns stdout. */
  sh(ns: string, script: string, opts: { allowFail?: boolean; timeoutMs?: number } = {}): string {
    return this.exec(ns, ['sh', '-c', script], opts).stdout;
  }

  /** Starts a child inside ns; dispose() kills it (SIGKILL) if still running. */
  spawn(ns: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills children and deletes this lab's namespaces (and so their links); idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.exitHook);
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    this.children.clear();
    for (const ns of this.namespaces.splice(0).reverse()) run(['ip', 'netns', 'del', ns], { allowFail: true });
  }
}

/** Waits (bounded) until `line` matches a line on the child's stdout; rejects on exit or timeout. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; stdout: ${buf.slice(-500)} stderr: ${err.slice(-500)}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (re.test(line)) {
          done(undefined, line);
          return;
        }
      }
    };
    const onErr = (d: Buffer): void => {
      err += d.toString();
    };
    const onExit = (code: number | null): void => done(new Error(`exited (${code}) before ${re}; stdout: ${buf.slice(-500)} stderr: ${err.slice(-500)}`));
    function done(e: Error | undefined, line?: string): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(line!);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}
