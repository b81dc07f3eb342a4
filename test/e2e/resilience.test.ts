// Issue 10, faults with real daemons in namespaces (hub and peer kill -9 are in faults.test.ts):
//  1. a NAT router's mappings flushed (conntrack -F) and its masquerade moved to another port range
//     during an iperf3 transfer on the direct path: the overlay is back within 5 s, iperf3 completes;
//  2. a peer's underlay link down for 10 s, then up: sessions recover without restarting anything;
//  3. the TUN device deleted from outside: the peer daemon says so and exits non-zero.
import { expect, it } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { requireDist, runAsync, say, withMesh, type MeshLab } from '../helpers/mesh-lab.js';
import { describeIperf, iperfClient, startIperfServer } from '../helpers/iperf.js';

function preflight(tools: string[]): void {
  requireDist();
  const missing = toolsMissing(tools);
  if (missing !== undefined) throw new Error(`${missing} (.ci/run installs it)`);
}

/** The interface in `ns` holding an IPv4 address that starts with `prefix`. */
async function ifaceWith(ns: string, prefix: string): Promise<string> {
  const r = await runAsync(ns, ['ip', '-o', '-4', 'addr', 'show'], 5000);
  for (const l of r.stdout.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(l);
    if (m && m[2]!.startsWith(prefix)) return m[1]!;
  }
  throw new Error(`no interface with ${prefix}* in ${ns}: ${r.stdout}`);
}

async function sh(ns: string, argv: string[]): Promise<string> {
  const r = await runAsync(ns, argv, 10_000);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * ping -i 0.1 for `seconds` from `from` to `to` in the background; resolves with the replies'
 * icmp_seq numbers and the longest run of missing replies in seconds.
 */
function pingTrace(m: MeshLab, from: string, to: string, seconds: number): Promise<{ sent: number; received: number; longestGapS: number }> {
  const count = Math.round(seconds * 10);
  return runAsync(m.peer(from).ns, ['ping', '-n', '-i', '0.1', '-W', '1', '-c', String(count), to], (seconds + 10) * 1000).then((r) => {
    const seqs = [...r.stdout.matchAll(/icmp_seq=(\d+)/g)].map((x) => Number(x[1]));
    let gap = 0;
    let prev = 0;
    for (const s of [...seqs, count + 1]) {
      gap = Math.max(gap, s - prev - 1);
      prev = s;
    }
    return { sent: count, received: new Set(seqs).size, longestGapS: gap / 10 };
  });
}

describeRoot('meshd resilience (real daemons in namespaces)', () => {
  it('1. NAT mappings flushed and the masquerade moved mid-transfer: back within 5 s, iperf3 completes', async () => {
    preflight(['iperf3', 'conntrack']);
    await withMesh('natflush', { peers: [{ name: 'a', placement: 'nat' }, { name: 'b', placement: 'nat' }] }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      await m.waitPing('a', b.overlay, 20_000);
      await m.waitPath('a', 'b', 'direct', { timeoutMs: 15_000 });
      const srv = await startIperfServer(m, 'b');
      const client = iperfClient(m, 'a', b.overlay, srv.port, { seconds: 12, timeoutMs: 60_000 });
      const trace = pingTrace(m, 'a', b.overlay, 14);
      // Whatever fails below, the background client and ping end (bounded) before the lab is removed,
      // so no process outlives its namespace.
      try {
        await Promise.race([srv.firstInterval, new Promise((_, rej) => setTimeout(() => rej(new Error('iperf3 server saw no data within 10 s')), 10_000))]);
        await new Promise((r) => setTimeout(r, 2000));
        const router = a.router!;
        const wan = await ifaceWith(router, '198.51.100.');
        const lan = await ifaceWith(router, '192.0.2.');
        const mark = a.daemon.mark;
        // The router "reboots" its NAT: all mappings gone, and new ones come from another port range.
        await sh(router, ['nft', 'flush', 'chain', 'ip', 'meshd_nat', 'post']);
        await sh(router, ['nft', 'add', 'rule', 'ip', 'meshd_nat', 'post', 'oifname', wan, 'iifname', lan, 'meta', 'l4proto', 'udp', 'masquerade', 'to', ':40000-49999']);
        await sh(router, ['nft', 'add', 'rule', 'ip', 'meshd_nat', 'post', 'oifname', wan, 'iifname', lan, 'masquerade']);
        const flushed = await runAsync(router, ['conntrack', '-F'], 10_000);
        say('natflush', `router of a: masquerade now to :40000-49999, conntrack -F -> ${flushed.code} ${flushed.stderr.trim()}`);
        const [res, pings] = await Promise.all([client, trace]);
        say('natflush', `iperf3 ${describeIperf(res)}; ping a -> b ${pings.received}/${pings.sent}, longest outage ${pings.longestGapS.toFixed(1)} s`);
        const paths = a.daemon.seen((o) => o.msg === 'path changed' && o.peer === b.overlay, mark).map((r) => `${String(r.obj!.path)}`);
        say('natflush', `a's path to b after the flush: ${paths.join(' -> ') || '(unchanged)'}`);
        expect(res.ok, res.error).toBe(true);
        expect(pings.longestGapS, 'overlay outage after the NAT flush (s)').toBeLessThanOrEqual(5);
        // The mappings really moved: a's flows now leave the router from the new port range.
        const ct = await runAsync(router, ['conntrack', '-L', '-p', 'udp'], 10_000);
        const sports = [...ct.stdout.matchAll(/src=198\.51\.100\.\d+ dst=\S+ sport=\d+ dport=(\d+)/g)].map((x) => Number(x[1]));
        say('natflush', `router of a, UDP mappings now (reply dport = public port): ${sports.join(', ')}`);
        expect(sports.length).toBeGreaterThan(0);
        for (const p of sports) expect(p).toBeGreaterThanOrEqual(40000);
        const after = await m.ping('a', b.overlay, 5);
        expect(after.received, after.out).toBe(5);
      } finally {
        await Promise.allSettled([client, trace]);
      }
    });
  });

  it('2. underlay link of a peer down for 10 s, then up: sessions recover without a restart', async () => {
    preflight([]);
    await withMesh('linkdown', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'public' }] }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      await m.waitPing('a', b.overlay, 20_000);
      const pid = a.daemon.pid;
      // The internet side of a's link: a sees carrier loss, its addresses and routes stay.
      const inetIf = await ifaceWith(m.inet, a.underlay.replace(/\d+$/, (n) => String(Number(n) - 1)));
      await sh(m.inet, ['ip', 'link', 'set', inetIf, 'down']);
      say('linkdown', `a's underlay (${inetIf} in the internet router) down for 10 s`);
      const down = await m.ping('a', b.overlay, 3);
      expect(down.received).toBe(0);
      await new Promise((r) => setTimeout(r, 10_000 - 1500));
      await sh(m.inet, ['ip', 'link', 'set', inetIf, 'up']);
      const t0 = Date.now();
      const ms = await m.waitPing('a', b.overlay, 30_000);
      say('linkdown', `link up; a reaches b again after ${Date.now() - t0} ms (${ms} ms of pinging); daemon pid ${a.daemon.pid} (was ${pid}), starts ${a.daemon.starts}`);
      expect(a.daemon.pid).toBe(pid);
      expect(a.daemon.running).toBe(true);
      expect(a.daemon.starts).toBe(1);
      const ba = await m.ping('b', a.overlay, 5);
      expect(ba.received, ba.out).toBe(5);
      expect(Date.now() - t0, 'recovery after the link came back (ms)').toBeLessThan(25_000);
    });
  });

  it('3. the TUN device deleted from outside: the peer daemon says so and exits non-zero', async () => {
    preflight([]);
    await withMesh('tundel', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'public' }] }, async (m) => {
      const a = m.peer('a');
      await m.waitPing('a', m.peer('b').overlay, 20_000);
      const since = a.daemon.mark;
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => a.daemon.child!.once('exit', (code, signal) => resolve({ code, signal })));
      await sh(a.ns, ['ip', 'link', 'del', 'mtun0']);
      say('tundel', 'mtun0 deleted in a; waiting (bounded 10 s) for the daemon to exit');
      const t0 = Date.now();
      const res = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
      say('tundel', `daemon ${res === undefined ? 'still running after 10 s' : `exited code=${res.code} signal=${res.signal} after ${Date.now() - t0} ms`}`);
      expect(res, 'the daemon exits when its TUN is deleted').toBeDefined();
      expect(res!.code).not.toBe(0);
      expect(res!.code).not.toBeNull();
      const said = a.daemon.seen((o) => typeof o.level === 'number' && o.level >= 50, since).map((r) => String(r.obj!.msg));
      say('tundel', `error lines: ${said.join(' | ')}`);
      expect(said.some((s) => /TUN/.test(s))).toBe(true);
    });
  });
});
