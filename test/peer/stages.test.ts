// The data path's stages on one record, without a link: outbound.ts routes a TUN packet to its
// record's channel or drops it for one reason; inbound.ts takes a record and an inner message and
// writes the packet or drops it for one reason; link-sender.ts seals on the record's path.
import { describe, expect, it, vi } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import type { PeerSender } from '../../src/peer/channel.js';
import { DataPlane, type TransportMode } from '../../src/peer/dataplane.js';
import { LinkSender } from '../../src/peer/link-sender.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { RemotePeers } from '../../src/peer/peer-table.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import type { PacketBatch } from '../../src/tun/device.js';
import { ipv4Dst } from '../../src/tun/ip-packet.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import type { Path } from '../../src/link/path.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { ipv4TestPacket, IPPROTO_UDP } from '../fakes/ipv4-packet.js';

const ip = ipv4ToU32;
const A = ip('10.9.0.2'); // us
const B = ip('10.9.0.3');
const MTU = 1378;

function packet(src: number, dst: number, size = 100, proto = IPPROTO_UDP): Uint8Array {
  return ipv4TestPacket(src, dst, proto, size, 0).p;
}

function info(overlay: number, key: number): PeerInfo {
  const publicKey = new Uint8Array(32).fill(key);
  return { publicKey, id: Buffer.from(publicKey).toString('hex'), overlay, name: '', bootId: 9n, reflexive: { address: '0.0.0.0', port: 0 }, lan: [] };
}

function batchOf(p: Uint8Array): PacketBatch {
  return { data: p, lengths: Uint32Array.of(p.byteLength), count: 1, slotSize: p.byteLength } as unknown as PacketBatch;
}

function setup(transport: TransportMode = 'datagram', o: { sendOk?: boolean; tunOk?: boolean } = {}) {
  const clock = new ManualClock();
  const table = new RemotePeers({ bootId: 1n, clock, random01: () => 0.5 });
  const b = table.upsert(info(B, 3));
  const sent: { peer: RemotePeer; inner: Uint8Array }[] = [];
  const sender: PeerSender = { send: (peer, inner) => (sent.push({ peer, inner: inner.slice() }), o.sendOk ?? true) };
  const written: Uint8Array[] = [];
  const tun = { write: (p: Uint8Array) => (written.push(p.slice()), o.tunOk ?? true) };
  const dp = new DataPlane({ tun, localAddress: A, prefixLength: 24, mtu: MTU, transport, preset: presets.fast2, clock, defer: (fn) => fn(), log: testLogger(), table, sender });
  return { clock, table, b, sent, written, dp };
}

describe('outbound stages', () => {
  it.each([
    ['a packet for a listed peer: queued on its record, counted on it', () => packet(A, B), {}, undefined],
    ['neither IPv4 nor IPv6', () => Object.assign(packet(A, B), { 0: 0x50 }), {}, 'not_ipv4'],
    ['IPv6 while this peer has no overlay v6 address', () => Object.assign(packet(A, B), { 0: 0x60 }), {}, 'no_ipv6'],
    ['a length that disagrees with the header', () => packet(A, B).subarray(0, 60), {}, 'not_ipv4'],
    ['outside the overlay prefix', () => packet(A, ip('192.0.2.1')), {}, 'no_route'],
    ['to ourselves', () => packet(A, A), {}, 'no_route'],
    ['to an overlay address no record holds (ICMP back)', () => packet(A, ip('10.9.0.9')), {}, 'no_peer'],
    ['larger than the MTU (ICMP back)', () => packet(A, B, MTU + 1), {}, 'too_big'],
    ['the sender has no path yet', () => packet(A, B), { sendOk: false }, 'no_path'],
  ] as const)('%s', (_why, make, o, reason) => {
    const { dp, b, sent, written } = setup('datagram', o);
    const p = make();
    dp.outbound.onTunBatch(batchOf(p));
    const drops = Object.entries(dp.counters.drops).filter(([, n]) => n > 0);
    if (reason === undefined) {
      expect(drops).toEqual([]);
      expect(sent.map((s) => s.peer)).toEqual([b]);
      expect(sent[0]!.inner.subarray(1)).toEqual(p);
      expect([b.traffic.txPackets, dp.counters.txPackets]).toEqual([1, 1]);
    } else {
      expect(drops).toEqual([[reason, 1]]);
      expect(b.traffic.txPackets).toBe(0);
      if (reason === 'no_peer' || reason === 'too_big') expect(written.map((w) => ipv4Dst(w))).toEqual([A]);
    }
  });

  it('a departed peer without a channel is no peer; one that kept its KCP channel still queues', () => {
    const { dp, table, b } = setup('kcp');
    dp.outbound.onTunBatch(batchOf(packet(A, B)));
    expect(b.channel).toBeDefined();
    table.remove(b.id);
    dp.outbound.onTunBatch(batchOf(packet(A, B)));
    expect(dp.counters.txPackets).toBe(2);
    const c = table.upsert(info(ip('10.9.0.4'), 4));
    table.remove(c.id);
    dp.outbound.onTunBatch(batchOf(packet(A, ip('10.9.0.4'))));
    expect(dp.counters.drops.no_peer).toBe(1);
  });
});

describe('one lookup of the peer per packet', () => {
  it.each(['kcp', 'datagram'] as const)('%s: outbound resolves each packet once, inbound none (the record is given)', (transport) => {
    const { dp, table, b } = setup(transport);
    const lookup = vi.spyOn(table, 'lookup');
    const get = vi.spyOn(table, 'get');
    for (let i = 0; i < 10; i++) dp.outbound.onTunBatch(batchOf(packet(A, B)));
    for (let i = 0; i < 10; i++) dp.inbound.receive(b, Uint8Array.of(2, ...packet(B, A)));
    expect([lookup.mock.calls.length, get.mock.calls.length]).toEqual([10, 0]);
    expect([dp.counters.txPackets, dp.counters.rxPackets]).toEqual([10, 10]);
  });
});

describe('inbound stages', () => {
  const ipInner = (p: Uint8Array) => Uint8Array.of(2, ...p);
  it.each([
    ['an IP packet from the peer\'s own address, for us', 'datagram', () => ipInner(packet(B, A)), {}, undefined],
    ['an unknown inner kind', 'datagram', () => Uint8Array.of(9, 1, 2, 3), {}, 'malformed'],
    ['a truncated IP packet', 'datagram', () => ipInner(packet(B, A)).subarray(0, 40), {}, 'malformed'],
    ['another source than the peer\'s (spoofed)', 'datagram', () => ipInner(packet(ip('10.9.0.4'), A)), {}, 'spoofed_source'],
    ['a destination other than us', 'datagram', () => ipInner(packet(B, ip('10.9.0.4'))), {}, 'not_for_us'],
    ['the TUN refuses it', 'datagram', () => ipInner(packet(B, A)), { tunOk: false }, 'tun_write'],
    ['a KCP datagram in datagram mode', 'datagram', () => Uint8Array.of(1, ...new Uint8Array(24)), {}, 'kcp_rejected'],
    ['a KCP datagram too short for a conv', 'kcp', () => Uint8Array.of(1, 0, 0), {}, 'kcp_rejected'],
  ] as const)('%s', (_why, transport, make, o, reason) => {
    const { dp, b, written } = setup(transport, o);
    dp.inbound.receive(b, make());
    const drops = Object.entries(dp.counters.drops).filter(([, n]) => n > 0);
    if (reason === undefined) {
      expect(drops).toEqual([]);
      expect(written.length).toBe(1);
      expect([b.traffic.rxPackets, dp.counters.rxPackets]).toEqual([1, 1]);
    } else {
      expect(drops).toEqual([[reason, 1]]);
      expect(b.traffic.rxPackets).toBe(0);
    }
  });
});

describe('LinkSender', () => {
  function sender() {
    const clock = new ManualClock();
    const table = new RemotePeers({ bootId: 1n, clock, random01: () => 0.5 });
    const b = table.upsert(info(B, 3));
    const sends: Path[] = [];
    const link = { send: (_k: Uint8Array, _pt: Uint8Array, to?: Path) => (sends.push(to!), true) };
    return { clock, table, b, sends, s: new LinkSender(link, clock) };
  }

  it('sends on the relay until a direct path is confirmed, then on the direct one (the same Path object each time)', () => {
    const { clock, b, sends, s } = sender();
    expect(s.send(b, Uint8Array.of(2, 1))).toBe(true);
    expect(sends[0]).toBe(b.relay);
    const endpoint = { address: '198.51.100.7', port: 20001 };
    b.paths.startPunch([{ kind: 'direct', endpoint }], clock.now());
    const [ping] = b.paths.due(clock.now());
    expect(b.paths.onPong(ping!.txid, endpoint, clock.now() + 5)).toBe('upgraded');
    s.send(b, Uint8Array.of(2, 1, 2));
    s.send(b, Uint8Array.of(2, 1, 2));
    expect(sends[1]).toEqual({ kind: 'udp', endpoint });
    expect(sends[2]).toBe(sends[1]);
    expect([...b.traffic.samples()]).toEqual([
      { direction: 'out', path: 'direct', packets: 2, bytes: 6 },
      { direction: 'out', path: 'relay', packets: 1, bytes: 2 },
    ]);
  });

  it('refuses a departed peer, and everything once closed', () => {
    const { table, b, sends, s } = sender();
    const c = table.upsert(info(ip('10.9.0.4'), 4));
    c.channel = { conv: 0, send: () => true, input: () => 'ok', receive: () => undefined, flush: () => {}, stats: () => ({ retransmits: 0, waitSnd: 0, srttMs: 0, lanes: 0 }), close: () => {} };
    table.remove(c.id);
    expect(s.send(c, Uint8Array.of(2))).toBe(false);
    s.close();
    expect(s.send(b, Uint8Array.of(2))).toBe(false);
    expect(sends).toEqual([]);
  });
});
