// IPv6 underlay (issue 22 part 1), real daemons in namespaces, underlay IPv6 from 2001:db8::/32:
//   a, b   behind IPv4 random-port NATs (masquerade random,fully-random + WAN `ct state new` drop:
//          IPv4 alone is relayed, test/e2e/nat-traversal.test.ts (b)) with a global IPv6 address on
//          a routed segment behind the same router, whose inet firewall drops unsolicited inbound
//          IPv6 too (a home router's stateful IPv6 firewall); peers on [::]:0, hub on [::]:7000.
//          `meshd ping --until-direct` goes direct over IPv6, status shows the IPv6 endpoint, and
//          the hub relays no more bytes while they talk.
//   c      IPv6 only (its IPv4 address removed), registers with --hub [2001:db8:1::2]:7000
//   d      IPv4 only (no IPv6 address, default --listen 0.0.0.0:0)
//          c and d reach each other through the relay of the dual-stack hub.
//
//   inet ---- hub        203.0.113.2 + 2001:db8:1::2/64
//     |------ ra (NAT) WAN 198.51.100.2 + 2001:db8:2:0::2/64 -- a 192.0.2.2 + 2001:db8:3:0::2/64
//     |------ rb (NAT) WAN 198.51.100.10 + 2001:db8:2:1::2/64 -- b 192.0.2.18 + 2001:db8:3:1::2/64
//     |------ c  2001:db8:2:2::2/64 (no IPv4)
//     '------ d  198.51.100.26 (no IPv6)
import { expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { cliPath, MeshLab, relayBytes, requireDist, runAsync, say, statusPeer, type PeerNode } from '../helpers/mesh-lab.js';

const tag = 'v6u';

/** The interface of `ns` holding IPv4 address `v4` (mesh-lab names them; we add IPv6 beside). */
function devOf(m: MeshLab, ns: string, v4: string): string {
  const out = m.lab.sh(ns, 'ip -o -4 addr show');
  const line = out.split('\n').find((l) => l.includes(` ${v4}/`));
  if (!line) throw new Error(`no interface with ${v4} in ${ns}: ${out}`);
  return line.trim().split(/\s+/)[1]!;
}

function addr6(m: MeshLab, ns: string, dev: string, cidr: string): void {
  m.lab.exec(ns, ['ip', '-6', 'addr', 'add', cidr, 'dev', dev, 'nodad']);
}

function forward6(m: MeshLab, ns: string): void {
  m.lab.exec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
}

/** Adds the IPv6 plan above to the IPv4 mesh mesh-lab built (before any peer starts). */
function addIpv6(m: MeshLab): void {
  const inet = m.inet;
  forward6(m, inet);
  addr6(m, m.hubNs, devOf(m, m.hubNs, '203.0.113.2'), '2001:db8:1::2/64');
  addr6(m, inet, devOf(m, inet, '203.0.113.1'), '2001:db8:1::1/64');
  m.lab.exec(m.hubNs, ['ip', '-6', 'route', 'replace', 'default', 'via', '2001:db8:1::1']);
  for (const [k, name] of (['a', 'b'] as const).entries()) {
    const p = m.peer(name);
    const r = p.router!;
    forward6(m, r);
    const wanV4 = `198.51.100.${8 * k + 2}`;
    addr6(m, r, devOf(m, r, wanV4), `2001:db8:2:${k}::2/64`);
    addr6(m, inet, devOf(m, inet, `198.51.100.${8 * k + 1}`), `2001:db8:2:${k}::1/64`);
    m.lab.exec(r, ['ip', '-6', 'route', 'replace', 'default', 'via', `2001:db8:2:${k}::1`]);
    addr6(m, r, devOf(m, r, `192.0.2.${16 * k + 1}`), `2001:db8:3:${k}::1/64`);
    addr6(m, p.ns, devOf(m, p.ns, p.underlay), `2001:db8:3:${k}::2/64`);
    m.lab.exec(p.ns, ['ip', '-6', 'route', 'replace', 'default', 'via', `2001:db8:3:${k}::1`]);
    m.lab.exec(inet, ['ip', '-6', 'route', 'replace', `2001:db8:3:${k}::/64`, 'via', `2001:db8:2:${k}::2`]);
  }
  // c: IPv6 only. Its IPv4 address and route go; the link gets 2001:db8:2:2::/64.
  const c = m.peer('c');
  const cDev = devOf(m, c.ns, c.underlay);
  const inetC = devOf(m, inet, '198.51.100.17');
  m.lab.exec(c.ns, ['ip', '-4', 'addr', 'flush', 'dev', cDev]);
  addr6(m, c.ns, cDev, '2001:db8:2:2::2/64');
  addr6(m, inet, inetC, '2001:db8:2:2::1/64');
  m.lab.exec(c.ns, ['ip', '-6', 'route', 'replace', 'default', 'via', '2001:db8:2:2::1']);
}

async function ping6(m: MeshLab, from: string, to: string): Promise<void> {
  const r = await runAsync(m.peer(from).ns, ['ping', '-6', '-n', '-q', '-c', '1', '-W', '2', to], 5000);
  if (r.code !== 0) throw new Error(`underlay ping -6 ${from} -> ${to} failed: ${r.stdout}${r.stderr}`);
}

async function startPeer(m: MeshLab, p: PeerNode): Promise<void> {
  const since = p.daemon.mark;
  p.daemon.start();
  await p.daemon.waitMsg('registered with hub', {}, { since, timeoutMs: 20_000 });
  say(tag, `peer ${p.spec.name} registered (pid ${p.daemon.pid})`);
}

describeRoot('IPv6 underlay', () => {
  it('NATed IPv4 peers with global IPv6 go direct over IPv6; a v6-only and a v4-only peer meet through the dual-stack hub', async () => {
    requireDist();
    const dual = ['--listen', '[::]:0'];
    const m = await MeshLab.start(tag, {
      hubArgs: ['--listen', '[::]:7000'],
      peers: [
        { name: 'a', placement: 'symmetric', extraArgs: dual, noStart: true },
        { name: 'b', placement: 'symmetric', extraArgs: dual, noStart: true },
        { name: 'c', placement: 'public', extraArgs: [...dual, '--hub', '[2001:db8:1::2]:7000'], noStart: true },
        { name: 'd', placement: 'public', noStart: true },
      ],
    });
    try {
      addIpv6(m);
      // The underlay works before meshd is asked anything: a and b reach the hub and c over IPv6.
      await ping6(m, 'a', '2001:db8:1::2');
      await ping6(m, 'b', '2001:db8:2:2::2');
      say(tag, 'IPv6 underlay up: 2001:db8:1::/64 hub, 2001:db8:3:{0,1}::/64 behind ra/rb, c on 2001:db8:2:2::/64');
      for (const p of m.peers.values()) await startPeer(m, p);
      const a = m.peer('a');
      const b = m.peer('b');
      const c = m.peer('c');
      const d = m.peer('d');

      // (1) a -> b: IPv4 would be relayed (both random-port NATs); the global IPv6 addresses are
      // direct candidates and both sides' probes open their stateful firewalls.
      const r = await runAsync(a.ns, [process.execPath, cliPath, 'ping', b.overlay, '--until-direct', '--state-dir', a.daemon.stateDir], 40_000);
      say(tag, `meshd ping --until-direct a -> b: exit ${r.code}\n${r.stdout.trim()}`);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/via \[2001:db8:3:1::2\]:\d+ \(direct\)/);
      const entry = statusPeer(await m.status(a.daemon), b.overlay, 'b');
      say(tag, `a's status for b: ${JSON.stringify({ path: entry?.path, endpoint: entry?.endpoint })}`);
      expect(entry?.path).toBe('direct');
      expect(String(entry?.endpoint)).toMatch(/^\[2001:db8:3:1::2\]:\d+$/);
      const back = statusPeer(await m.status(b.daemon), a.overlay, 'a');
      expect(String(back?.endpoint)).toMatch(/^\[2001:db8:3::2\]:\d+$/); // canonical text of 2001:db8:3:0::2

      // (2) The hub relays nothing while a and b talk.
      // What the hub relayed from a and b (c and d start their own sessions meanwhile, through it).
      const fromAB = async () => {
        const st = (await m.status(m.hub)) as { members?: Array<{ name: string; relayedBytes: number }> };
        return (st.members ?? []).filter((x) => x.name === 'a' || x.name === 'b').reduce((n, x) => n + x.relayedBytes, 0);
      };
      const totalBefore = relayBytes(await m.status(m.hub));
      const relayedBefore = await fromAB();
      const pings = await m.ping('a', b.overlay, 20, { intervalS: 0.05 });
      expect(pings.received, pings.out).toBe(20);
      const relayedAfter = await fromAB();
      say(tag, `hub relayed bytes from a and b ${relayedBefore} -> ${relayedAfter} over 20 pings a -> b (all members ${totalBefore} -> ${relayBytes(await m.status(m.hub))})`);
      // Not exactly 0: c and d join just before and their first handshakes with a and b go through
      // the relay, so a's or b's answer may be counted here (272 bytes in one CI run). 20 echo
      // requests and 20 replies relayed would be >= 40 x 141 bytes (84-byte IP packet + 57 of
      // tunnel); a tenth of that is no ping traffic.
      expect(relayedAfter - relayedBefore, 'a and b relayed their pings').toBeLessThan((40 * 141) / 10);

      // (3) c (IPv6 only) and d (IPv4 only) through the hub's relay: c's leg is IPv6, d's IPv4.
      const cStatus = await m.status(c.daemon);
      say(tag, `c's hub endpoint: ${JSON.stringify((cStatus as Record<string, unknown>).hub ?? cStatus.hubEndpoint ?? null)}`);
      const ms = await m.waitPing('c', d.overlay, 20_000);
      const cd = await m.ping('c', d.overlay, 5);
      const dc = await m.ping('d', c.overlay, 5);
      say(tag, `c -> d first reply after ${ms} ms; c -> d ${cd.received}/5, d -> c ${dc.received}/5`);
      expect(cd.received, cd.out).toBe(5);
      expect(dc.received, dc.out).toBe(5);
      const cToD = statusPeer(await m.status(c.daemon), d.overlay, 'd');
      expect(cToD?.path).toBe('relay');
      expect(relayBytes(await m.status(m.hub))).toBeGreaterThan(relayedAfter);
    } catch (e) {
      say(tag, `FAILED: ${(e as Error).message}\n${m.logs()}`);
      throw e;
    } finally {
      m.dispose();
    }
  }, 120_000);
});
