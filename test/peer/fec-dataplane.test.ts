// FEC in the data path (fec-stage.ts, issue 19 item 2): two data planes back to back through
// in-memory TUNs and a seeded lossy, reordering link on the manual clock. The same bulk transfer
// with FEC auto and off: every packet arrives exactly once either way, KCP retransmits far less
// with FEC, a clean path carries no kind-5 byte, and a peer that never said it speaks FEC gets none.
import { describe, expect, it, vi } from 'vitest';
import { KcpLanes } from '../../src/peer/kcp-lanes.js';
import { DataPlane } from '../../src/peer/dataplane.js';
import { presets } from '../../src/arq/constants.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { Rng } from '../fakes/rng.js';
import { testLogger } from '../fakes/logger.js';
import type { PeerSender } from '../../src/peer/channel.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { RemotePeers } from '../../src/peer/peer-table.js';
import { PEER_CAP_FEC } from '../../src/peer/fec-caps.js';
import type { FecSetting } from '../../src/peer/fec-pair.js';
import { INNER_KIND_FEC } from '../../src/fec/frame.js';
import { infoOf } from '../fakes/peer-info.js';
import { IPPROTO_UDP, ipv4TestPacket } from '../fakes/ipv4-packet.js';

const A = ipv4ToU32('10.9.0.2');
const B = ipv4ToU32('10.9.0.3');
const boot: Record<number, bigint> = { [A]: 1n, [B]: 2n };

/** A UDP packet of `size` bytes from port 4000 to 5000 with `seq` in its payload. */
function udpPacket(src: number, dst: number, seq: number, size = 1200): Uint8Array {
  const { p, v } = ipv4TestPacket(src, dst, IPPROTO_UDP, size, seq);
  v.setUint16(20, 4000);
  v.setUint16(22, 5000);
  for (let i = 32; i < size; i++) p[i] = (seq * 7 + i) & 0xff;
  return p;
}

interface Opts {
  setting: FecSetting;
  loss: number;
  seed?: number;
  /** B speaks FEC (A learns it): false plays an older peer. */
  bCapable?: boolean;
  packets?: number;
  /** The pair's data goes through the hub relay (no room for FEC's 9 bytes there). */
  relayed?: boolean;
  /** --transport (default kcp). */
  transport?: 'kcp' | 'auto';
}

/** Sends `packets` full-size packets A->B at ~2000 packets/s over a link with 20 ms RTT. */
function transfer(o: Opts) {
  const clock = new ManualClock();
  const rng = new Rng(o.seed ?? 7);
  const tunA = new ChannelTun({ mtu: 1378 });
  const tunB = new ChannelTun({ mtu: 1378 });
  const deferred: (() => void)[] = [];
  const planes: Record<number, DataPlane> = {};
  const tables: Record<number, RemotePeers> = {};
  const fecBytes: Record<number, number> = { [A]: 0, [B]: 0 };
  const make = (self: number, other: number, tun: ChannelTun, capable: boolean) => {
    const table = (tables[self] = new RemotePeers({ bootId: boot[self]!, clock, random01: () => 0.5 }));
    const rec = table.upsert(infoOf(other, boot[other]!));
    if (capable) rec.caps |= PEER_CAP_FEC;
    const sender: PeerSender & { isDirect(): boolean } = {
      isDirect: () => !o.relayed,
      send: (_peer, inner) => {
        if (inner[0] === INNER_KIND_FEC) fecBytes[self]! += inner.byteLength;
        if (rng.chance(o.loss)) return true;
        const copy = inner.slice();
        clock.setTimer(10 + rng.int(3), () => {
          const from = tables[other]?.get(infoOf(self, 0n).id);
          if (from) planes[other]?.inbound.receive(from, copy);
        });
        return true;
      },
    };
    return new DataPlane({ tun, localAddress: self, prefixLength: 24, mtu: 1378, transport: o.transport ?? 'kcp', preset: presets.fast2, clock, defer: (fn) => deferred.push(fn), log: testLogger(), table, sender, fec: o.setting });
  };
  // A knows whether B speaks FEC; B always knows A does (A is this build).
  planes[A] = make(A, B, tunA, o.bCapable ?? true);
  planes[B] = make(B, A, tunB, true);
  tunA.onPackets((b) => planes[A]!.outbound.onTunBatch(b));
  tunB.onPackets((b) => planes[B]!.outbound.onTunBatch(b));
  const step = (ms: number) => {
    clock.advance(ms);
    while (deferred.length) deferred.shift()!();
  };
  const n = o.packets ?? 6000;
  const got: Uint8Array[] = [];
  for (let i = 0; i < n; i += 10) {
    for (let j = i; j < Math.min(n, i + 10); j++) tunA.inject(udpPacket(A, B, j));
    step(5);
    got.push(...tunB.take());
  }
  for (let t = 0; t < 3000; t += 5) {
    step(5);
    got.push(...tunB.take());
  }
  const recB = tables[A]!.get(infoOf(B, 0n).id)!;
  return {
    got,
    n,
    retransmits: recB.channel!.stats().retransmits,
    fecBytes,
    statusA: planes[A]!.fecStatus(tables[A]!),
    statusB: planes[B]!.fecStatus(tables[B]!),
  };
}

/** The delivered packets sorted by sequence must be exactly the packets sent. */
function expectExact(r: ReturnType<typeof transfer>): void {
  const seqs = r.got.map((p) => new DataView(p.buffer, p.byteOffset).getUint32(28)).sort((x, y) => x - y);
  expect(seqs).toEqual([...Array(r.n).keys()]);
  for (const p of r.got) expect(Buffer.from(p).equals(Buffer.from(udpPacket(A, B, new DataView(p.buffer, p.byteOffset).getUint32(28))))).toBe(true);
}

// Each loss case runs two 3-second transfers packet by packet: seconds of CPU on a busy machine.
describe('FEC in the data path', { timeout: 120_000 }, () => {
  it('adds no kind-5 byte on a clean path (auto), and every packet arrives', () => {
    const r = transfer({ setting: 'auto', loss: 0 });
    expectExact(r);
    expect(r.fecBytes[A]).toBe(0);
    expect(r.fecBytes[B]).toBe(0);
    expect(r.statusA['10.9.0.3']?.m).toBe(0);
  });

  it.each([
    [0.05, 1],
    [0.05, 2],
    [0.1, 3],
  ])('at %s loss (seed %s): the same bytes arrive with FEC auto as off, and KCP retransmits far less', (loss, seed) => {
    const off = transfer({ setting: 'off', loss, seed });
    const auto = transfer({ setting: 'auto', loss, seed });
    expectExact(off);
    expectExact(auto);
    expect(off.fecBytes[A]).toBe(0);
    expect(auto.fecBytes[A]).toBeGreaterThan(0);
    const st = auto.statusA['10.9.0.3']!;
    expect(st.m).toBeGreaterThan(0);
    expect(auto.statusB['10.9.0.2']!.repaired).toBeGreaterThan(0);
    if (process.env.MESHD_TEST_LOGS) console.log({ loss, seed, off: off.retransmits, auto: auto.retransmits, st, b: auto.statusB });
    // FEC turns on after the first second's reading: most of what is lost after that is repaired.
    expect(auto.retransmits).toBeLessThan(off.retransmits / 2);
  });

  it('under --transport auto (the default), FEC reaches KCP as with kcp pinned: its fast-resend depth too', () => {
    // Before, the auto channel (leg-channel.ts) dropped setFecDepth, so auto and pinned kcp differed.
    const depth = vi.spyOn(KcpLanes.prototype, 'setFecDepth');
    try {
      const pinned = transfer({ setting: 'auto', loss: 0.05, seed: 1, packets: 3000 });
      depth.mockClear();
      const auto = transfer({ setting: 'auto', loss: 0.05, seed: 1, packets: 3000, transport: 'auto' });
      expectExact(auto);
      expect(auto.statusA['10.9.0.3']!.m).toBeGreaterThan(0);
      expect(depth.mock.calls.some(([n]) => n > 0)).toBe(true);
      expect(auto.retransmits).toBe(pinned.retransmits);
    } finally {
      depth.mockRestore();
    }
  });

  it('never frames a relayed pair (a full segment already fills the datagram there)', () => {
    const r = transfer({ setting: 'on', loss: 0.05, relayed: true, packets: 3000 });
    expectExact(r);
    expect(r.fecBytes[A]).toBe(0);
  });

  it('never sends kind 5 to a peer that did not say it speaks FEC', () => {
    const r = transfer({ setting: 'auto', loss: 0.05, bCapable: false, packets: 3000 });
    expectExact(r);
    expect(r.fecBytes[A]).toBe(0);
    expect(r.statusA['10.9.0.3']?.why).toMatch(/does not speak FEC/);
  });
});
