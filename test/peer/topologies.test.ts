// One test body over every topology: register, punch (or not), then traffic both ways. Direct where
// the NATs allow it (RFC 4787 behaviours in test/vnet), relay where they do not, LAN behind one NAT.
import { describe, expect, it } from 'vitest';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { topologies, World } from '../vnet/world.js';
import { natPresets } from '../vnet/vnet.js';

const ip = (packet: string) => encodeInner({ kind: InnerKind.IP, packet: new Uint8Array(Buffer.from(packet)) });

describe.each(topologies)('$name', (topo) => {
  it(`registers, settles on ${topo.expect}, and carries traffic both ways`, async () => {
    const w = new World();
    w.startHub();
    const a = w.peer(topo.a, '10.9.0.2');
    const b = w.peer(topo.b, '10.9.0.3');
    const atA: string[] = [];
    const atB: string[] = [];
    a.onInner((from, inner) => atA.push(`${from}:${Buffer.from(inner.subarray(1)).toString()}`));
    b.onInner((from, inner) => atB.push(`${from}:${Buffer.from(inner.subarray(1)).toString()}`));
    await w.join(a);
    await w.join(b);
    // Traffic starts at once over the relay: no black hole while punching.
    expect(a.sendTo(ipv4ToU32('10.9.0.3'), ip('first'))).toBe(true);
    w.run(1_000);
    expect(atB).toEqual([`${ipv4ToU32('10.9.0.2')}:first`]);
    w.run(8_000);
    expect(a.peers().map((p) => p.path)).toEqual([topo.expect]);
    expect(b.peers().map((p) => p.path)).toEqual([topo.expect]);
    const relayedBefore = w.hub.status().relayedBytes;
    for (let i = 0; i < 5; i++) {
      a.sendTo(ipv4ToU32('10.9.0.3'), ip(`a${i}`));
      b.sendTo(ipv4ToU32('10.9.0.2'), ip(`b${i}`));
      w.run(200);
    }
    expect(atB.slice(1)).toEqual([0, 1, 2, 3, 4].map((i) => `${ipv4ToU32('10.9.0.2')}:a${i}`));
    expect(atA).toEqual([0, 1, 2, 3, 4].map((i) => `${ipv4ToU32('10.9.0.3')}:b${i}`));
    const relayed = w.hub.status().relayedBytes - relayedBefore;
    // Relayed traffic shows in the hub's counters; direct traffic never touches the hub.
    if (topo.expect === 'relay') expect(relayed).toBeGreaterThan(0);
    else expect(relayed).toBe(0);
    // Stays put over a minute of idle keepalives and heartbeats.
    w.run(60_000);
    a.sendTo(ipv4ToU32('10.9.0.3'), ip('later'));
    w.run(500);
    expect(atB.at(-1)).toBe(`${ipv4ToU32('10.9.0.2')}:later`);
    expect(a.peers()[0]!.path).toBe(topo.expect);
    expect(w.hub.status().peers.length).toBe(2);
  });
});

describe('direct path failure', () => {
  it('falls back to relay within ~3 s when the direct path stops answering, and returns to direct later', async () => {
    const w = new World();
    w.startHub();
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2');
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3');
    const atB: string[] = [];
    b.onInner((_f, inner) => atB.push(Buffer.from(inner.subarray(1)).toString()));
    await w.join(a);
    await w.join(b);
    w.run(8_000);
    expect(a.peers()[0]!.path).toBe('direct');
    // A firewall starts dropping the peers' direct traffic (both still reach the hub).
    const direct = (s: { address: string }, d: { address: string }) =>
      s.address.startsWith('198.51.100.') && d.address.startsWith('198.51.100.');
    w.net.dropIf = direct;
    let relayedAt: number | undefined;
    const t0 = w.clock.now();
    for (let i = 0; i < 40 && relayedAt === undefined; i++) {
      a.sendTo(ipv4ToU32('10.9.0.3'), ip(`x${i}`));
      w.run(100);
      if (a.peers()[0]!.path === 'relay') relayedAt = w.clock.now() - t0;
    }
    expect(relayedAt).toBeDefined();
    expect(relayedAt!).toBeLessThanOrEqual(3_500);
    a.sendTo(ipv4ToU32('10.9.0.3'), ip('via relay'));
    w.run(300);
    expect(atB.at(-1)).toBe('via relay');
    // The firewall relents; the relayed side retries direct within 30-60 s.
    w.net.dropIf = undefined;
    w.run(70_000);
    expect(a.peers()[0]!.path).toBe('direct');
  });
});

describe('lossy internet', () => {
  it('registers, punches two home NATs and delivers over 5 % loss with jitter (seeded)', async () => {
    const w = new World(3, { internet: { loss: 0.05, delayMs: 20, jitterMs: 10, duplicate: 0.01 } });
    w.startHub();
    const home = (nat: string, lanIp: string) => ({ nat, config: natPresets.home, lanIp });
    const a = w.peer(home('natA', '192.168.1.2'), '10.9.0.2');
    const b = w.peer(home('natB', '192.168.2.2'), '10.9.0.3');
    const atB = new Set<string>();
    b.onInner((_f, inner) => atB.add(Buffer.from(inner.subarray(1)).toString()));
    await w.join(a, 10_000);
    await w.join(b, 10_000);
    w.run(10_000);
    expect(a.peers()[0]!.path).toBe('direct');
    for (let i = 0; i < 100; i++) {
      a.sendTo(ipv4ToU32('10.9.0.3'), ip(`p${i}`));
      w.run(50);
    }
    w.run(1_000);
    expect(atB.size).toBeGreaterThan(85); // datagrams: loss shows through (KCP repairs it above)
    expect(w.hub.status().peers.length).toBe(2);
  });
});
