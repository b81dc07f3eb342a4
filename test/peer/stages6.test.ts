// The IPv6 side of the data path's stages (outbound6.ts, inbound6.ts, route-table6.ts, lookup6 and
// admits6 on the records): a v6 TUN packet routes to the record holding its destination as
// overlay6 or is dropped for one reason (ICMPv6 back where a router would send one); an inner v6
// packet is written only from the peer's own overlay6 to ours. v4 traffic beside it is untouched.
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import type { PeerSender } from '../../src/peer/channel.js';
import { DataPlane, type TransportMode } from '../../src/peer/dataplane.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { RemotePeers } from '../../src/peer/peer-table.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import { RouteTable6 } from '../../src/peer/route-table6.js';
import type { PacketBatch } from '../../src/tun/device.js';
import { ipv6Upper } from '../../src/tun/ip6-packet.js';
import { formatIpv6, parseIpv6 } from '../../src/util/ipv6-prefix.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { ipv4TestPacket, IPPROTO_UDP } from '../fakes/ipv4-packet.js';
import { ipv6TestPacket, IPPROTO_UDP6 } from '../fakes/ipv6-packet.js';

const v6 = (s: string): Uint8Array => parseIpv6(s)!;
const A6 = v6('fd00:1:2:3::2'); // us
const B6 = v6('fd00:1:2:3::3');
const A = 0x0a090002;
const B = 0x0a090003;
const MTU = 1378;

function packet6(src: Uint8Array, dst: Uint8Array, size = 100, proto = IPPROTO_UDP6): Uint8Array {
  return ipv6TestPacket(src, dst, proto, size);
}
function packet4(src: number, dst: number, size = 60): Uint8Array {
  return ipv4TestPacket(src, dst, IPPROTO_UDP, size, 0).p;
}

function info(overlay: number, key: number, overlay6?: string): PeerInfo {
  const publicKey = new Uint8Array(32).fill(key);
  return { publicKey, id: Buffer.from(publicKey).toString('hex'), overlay, ...(overlay6 ? { overlay6 } : {}), name: '', bootId: 9n, reflexive: { address: '0.0.0.0', port: 0 }, lan: [] };
}
const batchOf = (p: Uint8Array): PacketBatch => ({ data: p, lengths: Uint32Array.of(p.byteLength), count: 1, slotSize: p.byteLength }) as unknown as PacketBatch;

function setup(o: { local6?: Uint8Array | null; transport?: TransportMode } = {}) {
  const clock = new ManualClock();
  const table = new RemotePeers({ bootId: 1n, clock, random01: () => 0.5 });
  const b = table.upsert(info(B, 3, 'fd00:1:2:3::3'));
  const sent: { peer: RemotePeer; inner: Uint8Array }[] = [];
  const sender: PeerSender = { send: (peer, inner) => (sent.push({ peer, inner: inner.slice() }), true) };
  const written: Uint8Array[] = [];
  const tun = { write: (p: Uint8Array) => (written.push(p.slice()), true) };
  const local6 = o.local6 === null ? undefined : (o.local6 ?? A6);
  const dp = new DataPlane({
    tun, localAddress: A, prefixLength: 24, mtu: MTU, transport: o.transport ?? 'datagram', preset: presets.fast2, clock,
    defer: (fn) => fn(), log: testLogger(), table, sender, ...(local6 ? { local6, prefix6: 64 } : {}),
  });
  return { table, b, sent, written, dp };
}
const dropsOf = (dp: DataPlane) => Object.entries(dp.counters.drops).filter(([, n]) => n > 0);

describe('outbound IPv6', () => {
  const hopByHopBroken = (): Uint8Array => {
    const p = packet6(A6, B6, 100, 0);
    p[41] = 50; // a hop-by-hop header claiming 408 bytes
    return p;
  };
  it.each([
    ['to a peer\'s overlay6: queued on its record', () => packet6(A6, B6), {}, undefined, undefined],
    ['to an overlay6 nobody holds: ICMPv6 address unreachable back', () => packet6(A6, v6('fd00:1:2:3::9')), {}, 'no_peer', 1],
    ['larger than the MTU: ICMPv6 packet too big back', () => packet6(A6, B6, MTU + 1), {}, 'too_big', 2],
    ['outside our /64 (no v6 routes)', () => packet6(A6, v6('2001:db8::1')), {}, 'no_route', undefined],
    ['multicast (neighbour discovery, MLD) never crosses', () => packet6(v6('fe80::1'), v6('ff02::2')), {}, 'no_route', undefined],
    ['to ourselves', () => packet6(A6, A6), {}, 'no_route', undefined],
    ['a payload length that disagrees with the bytes', () => packet6(A6, B6).subarray(0, 90), {}, 'ipv6_malformed', undefined],
    ['an extension-header chain that runs past the packet', hopByHopBroken, {}, 'ipv6_malformed', undefined],
    ['a peer without an overlay v6 address', () => packet6(A6, B6), { local6: null }, 'no_ipv6', undefined],
  ] as const)('%s', (_why, make, o, reason, icmpType) => {
    const { dp, b, sent, written } = setup(o);
    const p = make();
    dp.outbound.onTunBatch(batchOf(p));
    if (reason === undefined) {
      expect(dropsOf(dp)).toEqual([]);
      expect(sent.map((s) => s.peer)).toEqual([b]);
      expect(sent[0]!.inner.subarray(1)).toEqual(p);
    } else {
      expect(dropsOf(dp)).toEqual([[reason, 1]]);
      expect(sent).toEqual([]);
    }
    expect(written.map((w) => w[40])).toEqual(icmpType === undefined ? [] : [icmpType]);
    for (const w of written) expect(formatIpv6(w.subarray(24, 40))).toBe('fd00:1:2:3::2');
  });

  it('v4 and v6 to the same peer both reach its record, over KCP lanes too', () => {
    const { dp, b, sent } = setup({ transport: 'kcp' });
    dp.outbound.onTunBatch(batchOf(packet6(A6, B6, 120, 6)));
    dp.outbound.onTunBatch(batchOf(packet4(A, B)));
    expect(dropsOf(dp)).toEqual([]);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sent.map((s) => s.peer))).toEqual(new Set([b]));
    expect([dp.counters.txPackets, dp.counters.v6.txPackets]).toEqual([2, 1]);
  });
});

describe('inbound IPv6', () => {
  const inner = (p: Uint8Array) => Uint8Array.of(2, ...p);
  it.each([
    ['from the peer\'s own overlay6, for us', () => inner(packet6(B6, A6)), {}, undefined],
    ['from another v6 source (spoofed)', () => inner(packet6(v6('fd00:1:2:3::4'), A6)), {}, 'spoofed_source'],
    ['from the peer\'s v6 /64 neighbour (only the /128 is admitted)', () => inner(packet6(v6('fd00:1:2:3::3:0'), A6)), {}, 'spoofed_source'],
    ['for another v6 destination', () => inner(packet6(B6, v6('fd00:1:2:3::9'))), {}, 'not_for_us'],
    ['truncated', () => inner(packet6(B6, A6)).subarray(0, 60), {}, 'ipv6_malformed'],
    ['while we have no overlay v6 address', () => inner(packet6(B6, A6)), { local6: null }, 'no_ipv6'],
  ] as const)('%s', (_why, make, o, reason) => {
    const { dp, b, written } = setup(o);
    dp.inbound.receive(b, make());
    if (reason === undefined) {
      expect(dropsOf(dp)).toEqual([]);
      expect(written.length).toBe(1);
      expect([dp.counters.rxPackets, dp.counters.v6.rxPackets]).toEqual([1, 1]);
    } else {
      expect(dropsOf(dp)).toEqual([[reason, 1]]);
      expect(written).toEqual([]);
    }
  });

  it('a peer without overlay6 may send no v6 at all', () => {
    const { dp, table, written } = setup();
    const c = table.upsert(info(0x0a090004, 4));
    dp.inbound.receive(c, Uint8Array.of(2, ...packet6(v6('fd00:1:2:3::4'), A6)));
    expect(dropsOf(dp)).toEqual([['spoofed_source', 1]]);
    expect(written).toEqual([]);
  });
});

describe('records and the v6 route table', () => {
  it('an overlay6 that moves to another key routes to the new holder; a departed holder is dropped', () => {
    const { table, b } = setup();
    expect(table.lookup6(B6)).toBe(b);
    table.remove(b.id);
    const c = table.upsert(info(0x0a090004, 4, 'fd00:1:2:3::3'));
    expect(table.lookup6(B6)).toBe(c);
    expect(table.get(b.id)).toBeUndefined();
  });

  it('a changed overlay6 moves the route', () => {
    const { table, b } = setup();
    table.upsert({ ...b.info, overlay6: 'fd00:1:2:3::33' });
    expect(table.lookup6(B6)).toBeUndefined();
    expect(table.lookup6(v6('fd00:1:2:3::33'))).toBe(b);
    expect(b.admits6(v6('fd00:1:2:3::33'), 0)).toBe(true);
    expect(b.admits6(B6, 0)).toBe(false);
  });

  it.each([
    ['the /128 wins over the /64', 'fd00:1:2:3::3', 'host'],
    ['another address in the /64', 'fd00:1:2:3::77', 'net'],
    ['outside every route', 'fd00:1:2:4::3', undefined],
  ])('longest prefix: %s', (_why, addr, want) => {
    const t = new RouteTable6<string>();
    t.set(v6('fd00:1:2:3::'), 64, 'net');
    t.set(v6('fd00:1:2:3::3'), 128, 'host');
    const p = new Uint8Array(40);
    p.set(v6(addr), 24);
    expect(t.lookup(p, 24)).toBe(want);
  });

  it('ip6 walk agrees with the packets built here', () => {
    expect(ipv6Upper(packet6(A6, B6))).toMatchObject({ proto: 17, offset: 40 });
  });
});
