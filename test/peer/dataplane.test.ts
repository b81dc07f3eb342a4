// Two data planes joined back to back through in-memory TUNs and a seeded lossy link on the manual
// clock: packets cross in both transports, loss is repaired by KCP, and the router rules hold.
import { describe, expect, it } from 'vitest';
import { DataPlane, type TransportMode } from '../../src/peer/dataplane.js';
import { presets } from '../../src/arq/constants.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { setIpv4Checksum, ipv4Src, ipv4Dst } from '../../src/tun/ip-packet.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { Rng } from '../fakes/rng.js';
import { testLogger } from '../fakes/logger.js';
import { controlLane, flowLane, laneConv, laneOfConv } from '../../src/peer/flow-lane.js';
import { pairConv } from '../../src/peer/conv.js';
import type { PeerSender } from '../../src/peer/channel.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { RemotePeers } from '../../src/peer/peer-table.js';
import { infoOf } from '../fakes/peer-info.js';
import { IPPROTO_UDP, ipv4TestPacket, testPacketSeq } from '../fakes/ipv4-packet.js';

const A = ipv4ToU32('10.9.0.2');
const B = ipv4ToU32('10.9.0.3');
const C = ipv4ToU32('10.9.0.9'); // in the prefix, but no such peer
const boot: Record<number, bigint> = { [A]: 1n, [B]: 2n };
/** The pair's conv while neither side restarted. */
const conv0 = pairConv(1n, 2n);

/** A UDP packet (proto 17) of `size` bytes with a sequence number in its payload. */
const udpPacket = (src: number, dst: number, seq: number, size = 100): Uint8Array => ipv4TestPacket(src, dst, IPPROTO_UDP, size, seq).p;
const seqOf = testPacketSeq;

/** An ICMP echo request (proto 1) with `seq` in its payload. */
function icmpPacket(src: number, dst: number, seq: number): Uint8Array {
  const p = udpPacket(src, dst, seq, 64);
  p[9] = 1;
  p[20] = 8;
  setIpv4Checksum(p);
  return p;
}
/** The conv of an inner KCP message (kind byte, then the KCP header's conv, little-endian). */
const innerConv = (inner: Uint8Array) => (inner[1]! | (inner[2]! << 8) | (inner[3]! << 16) | (inner[4]! << 24)) >>> 0;

function pair(transport: TransportMode, loss = 0, seed = 1, drop?: (inner: Uint8Array) => boolean) {
  const clock = new ManualClock();
  const rng = new Rng(seed);
  const tunA = new ChannelTun({ mtu: 1378 });
  const tunB = new ChannelTun({ mtu: 1378 });
  const deferred: (() => void)[] = [];
  const planes: Record<number, DataPlane> = {};
  const tables: Record<number, RemotePeers> = {};
  // Each side's table holds the other side's record, as PeerNode builds it from the map.
  const make = (self: number, other: number, tun: ChannelTun) => {
    const table = (tables[self] = new RemotePeers({ bootId: boot[self]!, clock, random01: () => 0.5 }));
    table.upsert(infoOf(other, boot[other]!));
    const sender: PeerSender = {
      send: (_peer, inner) => {
        if (rng.chance(loss) || drop?.(inner)) return true;
        const copy = inner.slice();
        clock.setTimer(5 + rng.int(5), () => {
          const from = tables[other]?.get(infoOf(self, 0n).id);
          if (from) planes[other]?.inbound.receive(from, copy);
        });
        return true;
      },
    };
    return new DataPlane({
      tun,
      localAddress: self,
      prefixLength: 24,
      mtu: 1378,
      transport,
      preset: presets.fast2,
      clock,
      defer: (fn) => deferred.push(fn),
      log: testLogger(),
      table,
      sender,
    });
  };
  planes[A] = make(A, B, tunA);
  planes[B] = make(B, A, tunB);
  tunA.onPackets((b) => planes[A]!.outbound.onTunBatch(b));
  tunB.onPackets((b) => planes[B]!.outbound.onTunBatch(b));
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += 5) {
      clock.advance(5);
      while (deferred.length) deferred.shift()!();
    }
  };
  /** B restarts with boot id `bootId`: a new table and data plane; A's map lists it anew. */
  const restartB = (bootId: bigint) => {
    boot[B] = bootId;
    planes[B]!.close();
    planes[B] = make(B, A, tunB);
    tables[A]!.upsert(infoOf(B, bootId));
    boot[B] = 2n;
  };
  /** `from`'s record in the table of `at`. */
  const recordOf = (at: number, from: number) => tables[at]!.get(infoOf(from, 0n).id)!;
  return { clock, tunA, tunB, a: planes[A]!, b: planes[B]!, run, restartB, recordOf, tables };
}

describe('DataPlane', () => {
  it.each([
    ['kcp', 0],
    ['kcp', 0.2],
    ['datagram', 0],
  ] as const)('carries packets A->B over %s at %s loss, each exactly once for kcp', (transport, loss) => {
    const { tunA, tunB, run, a, b } = pair(transport, loss);
    const n = 200;
    for (let i = 0; i < n; i++) {
      tunA.inject(udpPacket(A, B, i));
      run(5);
    }
    run(5000);
    const got = tunB.take();
    expect(got.every((p) => ipv4Src(p) === A && ipv4Dst(p) === B)).toBe(true);
    // KCP repairs every loss; delivery is unordered (IP's own promise), so compare sorted.
    if (transport === 'kcp') expect(got.map(seqOf).sort((x, y) => x - y)).toEqual([...Array(n).keys()]);
    else expect(got.length).toBe(n);
    expect(a.counters.txPackets).toBe(n);
    expect(b.counters.rxPackets).toBe(n);
  });

  it('answers a destination without a peer with ICMP host unreachable', () => {
    const { tunA, a } = pair('kcp');
    tunA.inject(udpPacket(A, C, 1));
    const [icmp] = tunA.take();
    expect(icmp).toBeDefined();
    expect(icmp![9]).toBe(1); // ICMP
    expect(icmp![20]).toBe(3); // destination unreachable
    expect(icmp![21]).toBe(1); // host unreachable
    expect(ipv4Dst(icmp!)).toBe(A);
    expect(a.counters.drops.no_peer).toBe(1);
  });

  it.each([
    ['with an IPv6 version nibble while this peer has no overlay v6 address', (() => { const p = udpPacket(A, B, 1); p[0] = 0x60; return p; })(), 'no_ipv6'],
    ['neither IPv4 nor IPv6 (version 5)', (() => { const p = udpPacket(A, B, 1); p[0] = 0x55; return p; })(), 'not_ipv4'],
    ['truncated header', new Uint8Array(12).fill(0x45), 'not_ipv4'],
    ['outside the overlay prefix', udpPacket(A, ipv4ToU32('192.0.2.1'), 1), 'no_route'],
  ] as const)('drops and counts a packet %s', (_why, packet, reason) => {
    const { tunA, tunB, a, run } = pair('kcp');
    tunA.inject(packet);
    run(100);
    expect(tunB.take()).toEqual([]);
    expect(a.counters.drops[reason]).toBe(1);
  });

  it('drops an inbound packet whose source is not the sending peer (no spoofing)', () => {
    const { tunB, b, run, recordOf } = pair('datagram');
    const spoofed = udpPacket(C, B, 1);
    b.inbound.receive(recordOf(B, A), Uint8Array.of(2, ...spoofed));
    run(10);
    expect(tunB.take()).toEqual([]);
    expect(b.counters.drops.spoofed_source).toBe(1);
  });

  it('refuses a KCP datagram with a conv the map does not explain', () => {
    const { tunA, tunB, b, run, recordOf } = pair('kcp');
    tunA.inject(udpPacket(A, B, 1));
    run(100);
    expect(tunB.take().length).toBe(1);
    const bogus = new Uint8Array(1 + 24);
    bogus[0] = 1;
    bogus[1] = 0x99; // conv 0x99: not a lane of the pair's conv
    expect(laneOfConv(conv0, 0x99)).toBeUndefined();
    b.inbound.receive(recordOf(B, A), bogus);
    expect(b.counters.drops.kcp_rejected).toBe(1);
  });

  it('keeps a channel whose conv still matches the map (a peer re-listed by a restarted hub), so both KCP ends stay in step', () => {
    const { tunA, tunB, run, tables } = pair('kcp');
    for (let i = 0; i < 5; i++) tunA.inject(udpPacket(A, B, i));
    run(500);
    tables[A]!.upsert(infoOf(B, 2n)); // listed again, same boot ids: same conv, nothing to rebuild
    for (let i = 5; i < 10; i++) tunA.inject(udpPacket(A, B, i));
    run(500);
    expect(tunB.take().map(seqOf).sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
  });

  it('rebuilds the channels when the conv changes (a peer restarted), and traffic flows on the new conversation', () => {
    const { tunA, tunB, a, run, restartB } = pair('kcp');
    tunA.inject(udpPacket(A, B, 1));
    run(200);
    expect(tunB.take().length).toBe(1);
    restartB(3n);
    expect(a.status()).toEqual([]);
    tunA.inject(udpPacket(A, B, 2));
    run(200);
    expect(tunB.take().map(seqOf)).toEqual([2]);
    expect(a.status()[0]?.conv).toBe(pairConv(1n, 3n));
  });

  it('carries a ping on its own lane, so a bulk flow stuck repairing loss does not delay it (head-of-line blocking)', () => {
    // Every KCP datagram of the bulk flow's lane is lost for the first second, both ways; the
    // control lane (ICMP) is untouched. With one ordered stream the pings would wait for the bulk repair.
    const bulkLane = flowLane(udpPacket(A, B, 0));
    expect(bulkLane).not.toBe(controlLane);
    const t0 = { blocked: true };
    const { tunA, tunB, a, run } = pair('kcp', 0, 1, (inner) => t0.blocked && laneOfConv(conv0, innerConv(inner)) === bulkLane);
    for (let i = 0; i < 100; i++) tunA.inject(udpPacket(A, B, i, 1200));
    run(20);
    for (let i = 0; i < 5; i++) tunA.inject(icmpPacket(A, B, 1000 + i));
    run(50); // well under the bulk lane's first retransmission timeout
    const early = tunB.take();
    expect(early.filter((p) => p[9] === 1).map(seqOf).sort((x, y) => x - y)).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(early.filter((p) => p[9] === 17)).toEqual([]);
    t0.blocked = false;
    run(5000);
    expect(tunB.take().map(seqOf).sort((x, y) => x - y)).toEqual([...Array(100).keys()]);
    const [st] = a.status();
    expect(st?.lanes).toBe(2);
    expect(st?.retransmits).toBeGreaterThan(0);
  });

  it('accepts the peer\'s datagrams on every lane of the pair and refuses other convs', () => {
    const { b, recordOf } = pair('kcp');
    const seg = (conv: number) => {
      const d = new Uint8Array(1 + 24);
      d[0] = 1;
      new DataView(d.buffer).setUint32(1, conv, true);
      d[5] = 84; // IKCP_CMD_WASK: a window probe, valid on any conv
      return d;
    };
    b.inbound.receive(recordOf(B, A), seg(laneConv(conv0, 15)));
    expect(b.counters.drops.kcp_rejected ?? 0).toBe(0);
    b.inbound.receive(recordOf(B, A), seg(laneConv(conv0, 16)));
    expect(b.counters.drops.kcp_rejected).toBe(1);
  });

  it('hands packets behind a lost one to the TUN at once and the repaired one later, each exactly once (unordered delivery)', () => {
    // Every copy of the flow's first segment (sn 0) is lost until the gate opens; the next ones
    // arrive. The sim delays datagrams by 5-9 ms, so packets are sent 10 ms apart to keep order.
    const gate = { closed: true };
    const { tunA, tunB, run } = pair('kcp', 0, 1, (inner) => gate.closed && pushesSn0(inner));
    for (let i = 0; i < 5; i++) {
      tunA.inject(udpPacket(A, B, i, 200));
      run(10);
    }
    run(10);
    expect(tunB.take().map(seqOf)).toEqual([1, 2, 3, 4]); // not held behind packet 0
    gate.closed = false;
    run(2000);
    expect(tunB.take().map(seqOf)).toEqual([0]); // repaired, once
  });
});

/** Whether an inner KCP message carries a PUSH segment with sn 0 (docs/ARQ.md: 24-byte segment headers). */
function pushesSn0(inner: Uint8Array): boolean {
  if (inner[0] !== 1) return false;
  const v = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
  for (let off = 1; off + 24 <= inner.byteLength; off += 24 + v.getUint32(off + 20, true)) {
    if (inner[off + 4] === 81 && v.getUint32(off + 12, true) === 0) return true;
  }
  return false;
}
