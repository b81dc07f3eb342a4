// Namespace lab for the side-by-side VPN bench (bench/vpn/run.mjs): a bench-local, plain-JS twin of
// test/helpers/netns.ts (which is TypeScript) plus the bench topology and the delay bridge.
// Names are b<pid>x<hex>-<host>; stale labs of dead runs are swept at start; dispose() on every exit.
//
//   A 192.0.2.2 ---[delay ns D: delay-bridge, optional]--- 192.0.2.1  R (router; loss on this link)
//   B 198.51.100.2 ---------------------------------------- 198.51.100.1 R
//   H 203.0.113.2 (meshd hub) ------------------------------ 203.0.113.1 R
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const labNameRe = /^b(\d+)x[0-9a-f]{4}-/;

export function run(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000, input: opts.input });
  const res = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!opts.allowFail && r.status !== 0) {
    throw new Error(`${argv.join(' ')} -> ${r.status ?? r.signal ?? r.error?.message}: ${res.stderr.trim()}`);
  }
  return res;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

export function sweepStale() {
  const r = run(['ip', 'netns', 'list'], { allowFail: true });
  for (const line of r.stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = labNameRe.exec(ns);
    if (m !== null && !pidAlive(Number(m[1]))) run(['ip', 'netns', 'del', ns], { allowFail: true });
  }
}

// Loss must be drawn per packet: a link that still offloads lets a 64 KB TCP or UDP GSO super-packet
// cross it (and the nft loss rule) as one skb, one random draw for about 40 packets.
const offloadsOff = ['tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload', 'tx-udp-segmentation'];

function assertNoOffloads(ethtoolK, dev) {
  for (const f of offloadsOff) {
    const m = new RegExp(`^\\s*${f}: (on|off)`, 'm').exec(ethtoolK);
    if (m === null || m[1] !== 'off') throw new Error(`${dev}: ${f} is not off (${m?.[1] ?? 'not listed'}); loss would not be per packet`);
  }
}

export class Lab {
  constructor() {
    sweepStale();
    this.prefix = `b${process.pid}x${randomBytes(2).toString('hex')}`;
    this.namespaces = [];
    this.children = new Set();
    this.links = 0;
    this.disposed = false;
    this.exitHook = () => this.dispose();
    process.on('exit', this.exitHook);
  }

  host(name, opts = {}) {
    const ns = `${this.prefix}-${name}`;
    run(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    // IPv6 only for a dual-stack underlay (--family 6), with no router advertisements taken.
    const v6 = opts.v6 ? '0' : '1';
    this.exec(ns, ['sysctl', '-qw', `net.ipv6.conf.all.disable_ipv6=${v6}`], { allowFail: true });
    this.exec(ns, ['sysctl', '-qw', `net.ipv6.conf.default.disable_ipv6=${v6}`], { allowFail: true });
    if (opts.v6) this.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.default.accept_ra=0'], { allowFail: true });
    if (opts.forward) this.exec(ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    if (opts.forward && opts.v6) this.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    return ns;
  }

  /** veth pair, offloads (TSO/GSO/GRO and TX checksum) off, addresses optional (''). */
  link(a, b, addrA, addrB) {
    const n = ++this.links;
    const ifA = `v${n}a`;
    const ifB = `v${n}b`;
    run(['ip', 'link', 'add', ifA, 'netns', a, 'type', 'veth', 'peer', 'name', ifB, 'netns', b]);
    for (const [ns, dev, addr] of [[a, ifA, addrA], [b, ifB, addrB]]) {
      for (const one of addr.split(' ').filter((x) => x !== '')) this.exec(ns, ['ip', 'addr', 'add', one, 'dev', dev, ...(one.includes(':') ? ['nodad'] : [])]);
      // TX checksum off too: a frame copied by the delay bridge must carry a complete checksum.
      this.exec(ns, ['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off'], { allowFail: true });
      assertNoOffloads(this.exec(ns, ['ethtool', '-k', dev]).stdout, dev);
      this.exec(ns, ['ip', 'link', 'set', dev, 'up']);
    }
    return { a: ifA, b: ifB };
  }

  exec(ns, argv, opts = {}) {
    return run(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  sh(ns, script, opts = {}) {
    return this.exec(ns, ['sh', '-c', script], opts).stdout;
  }

  spawn(ns, cmd, args, opts = {}) {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.on('error', () => this.children.delete(child));
    return child;
  }

  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.exitHook);
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    for (const ns of this.namespaces) run(['ip', 'netns', 'del', ns], { allowFail: true });
  }
}

export const addr = { a: '192.0.2.2', rA: '192.0.2.1', b: '198.51.100.2', rB: '198.51.100.1', h: '203.0.113.2', rH: '203.0.113.1' };
/** The IPv6 underlay beside the IPv4 one (--family 6): one /64 of 2001:db8::/32 per link. */
export const addr6 = { a: '2001:db8:a::2', rA: '2001:db8:a::1', b: '2001:db8:b::2', rB: '2001:db8:b::1', h: '2001:db8:c::2', rH: '2001:db8:c::1' };

/**
 * Builds the bench topology. With delayMs > 0 a namespace D bridges A's link to R through
 * bridgePath (the compiled delay-bridge), holding frames delayMs each way.
 * Returns { lab, ns: {a,b,h,r,d}, lossIf, bridge } where lossIf is R's interface toward A.
 */
export async function buildTopology({ delayMs, jitterMs = 0, bridgePath, v6 = false }) {
  const lab = new Lab();
  try {
    const ns = { r: lab.host('r', { forward: true, v6 }), a: lab.host('a', { v6 }), b: lab.host('b', { v6 }), h: lab.host('h', { v6 }) };
    // With v6 every link also gets its /64 (the delay bridge copies frames of any type).
    const at = (k) => `${addr[k]}/24${v6 ? ` ${addr6[k]}/64` : ''}`;
    let lossIf;
    let bridge = null;
    if (delayMs > 0) {
      ns.d = lab.host('d');
      const ad = lab.link(ns.a, ns.d, at('a'), '');
      const dr = lab.link(ns.d, ns.r, '', at('rA'));
      lossIf = dr.b;
      bridge = await startBridge(lab, ns.d, ad.b, dr.a, delayMs, jitterMs, bridgePath);
    } else {
      lossIf = lab.link(ns.a, ns.r, at('a'), at('rA')).b;
    }
    lab.link(ns.b, ns.r, at('b'), at('rB'));
    lab.link(ns.h, ns.r, at('h'), at('rH'));
    for (const [k, via] of [['a', 'rA'], ['b', 'rB'], ['h', 'rH']]) {
      lab.exec(ns[k], ['ip', 'route', 'replace', 'default', 'via', addr[via]]);
      if (v6) lab.exec(ns[k], ['ip', '-6', 'route', 'replace', 'default', 'via', addr6[via]]);
    }
    return { lab, ns, lossIf, bridge };
  } catch (err) {
    lab.dispose();
    throw err;
  }
}

/** Random loss of percent % each way on iface of the router (nft numgen); 0 removes it. */
export function setLoss(lab, router, iface, percent) {
  lab.exec(router, ['nft', 'delete', 'table', 'inet', 'benchloss'], { allowFail: true });
  if (percent <= 0) return;
  const p = Math.round(percent);
  const rules = [
    'table inet benchloss {',
    `  chain in { type filter hook prerouting priority -300; policy accept; iifname "${iface}" numgen random mod 100 < ${p} drop; }`,
    `  chain out { type filter hook postrouting priority 300; policy accept; oifname "${iface}" numgen random mod 100 < ${p} drop; }`,
    '}',
  ].join('\n');
  lab.exec(router, ['nft', '-f', '-'], { input: rules });
}

/** Starts the delay bridge in ns between if1 and if2; resolves once it prints its ready line. */
function startBridge(lab, ns, if1, if2, delayMs, jitterMs, bridgePath) {
  // Real-time priority (SCHED_FIFO, the kernel's RT throttling still leaves 5 % to others): the
  // bridge stands for the network and must not queue behind the daemons it carries on 2 shared cores.
  const args = [bridgePath, '-j', String(Math.round(jitterMs * 1000)), if1, if2, String(Math.round(delayMs * 1000))];
  const child = lab.spawn(ns, 'chrt', ['-f', '50', ...args]);
  const bridge = { child, last: null, stats: [], trimmed: 0, lines: [] };
  let buf = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('delay bridge did not start within 5 s')), 5000);
    child.stderr.on('data', (d) => bridge.lines.push(String(d)));
    child.stdout.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const obj = JSON.parse(line);
          if (obj.ready) {
            clearTimeout(timer);
            resolve(bridge);
          } else {
            bridge.last = obj;
            bridge.stats.push(obj);
            // Bounded: a long campaign keeps the last hour (windows read lines since their snapshot index).
            if (bridge.stats.length > 7200) bridge.trimmed += bridge.stats.splice(0, 3600).length;
          }
        } catch {
          /* not JSON */
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`delay bridge exited (${code}): ${bridge.lines.join('')}`));
    });
  });
}
