// peer/leg-channel.ts through two data planes back to back (manual clock): under --transport auto a
// pair sends KCP or datagrams as the choice says, switches within a second (or at once on a hub-leg
// switch), and always takes both kinds in, so two ends that chose differently still talk.
import { describe, expect, it } from 'vitest';
import { DataPlane, type TransportSetting } from '../../src/peer/dataplane.js';
import { presets } from '../../src/arq/constants.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { InnerKind } from '../../src/wire/inner.js';
import type { PeerSender } from '../../src/peer/channel.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { RemotePeers } from '../../src/peer/peer-table.js';
import { decidePairTransport, type PairTransport } from '../../src/peer/pair-transport.js';
import { LegChannel, modeCheckIntervalMs, type HubLegView } from '../../src/peer/leg-channel.js';
import { KcpLanes } from '../../src/peer/kcp-lanes.js';
import type { Logger } from '../../src/util/log.js';
import { pino } from 'pino';
import { vi } from 'vitest';
import { ChannelTun } from '../fakes/channel-tun.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { Rng } from '../fakes/rng.js';
import { testLogger } from '../fakes/logger.js';
import { infoOf } from '../fakes/peer-info.js';
import { ipv4TestPacket, IPPROTO_UDP, testPacketSeq } from '../fakes/ipv4-packet.js';

const A = ipv4ToU32('10.9.0.2');
const B = ipv4ToU32('10.9.0.3');
const boot: Record<number, bigint> = { [A]: 1n, [B]: 2n };

function udpPacket(src: number, dst: number, seq: number, size = 100): Uint8Array {
  return ipv4TestPacket(src, dst, IPPROTO_UDP, size, seq).p;
}
const seqOf = testPacketSeq;

interface Side {
  transport: TransportSetting;
  choice?: { current: PairTransport };
  /** For the default decision (no `choice`): our hub leg, the link's path, the log. */
  hubLeg?: HubLegView;
  direct?: boolean;
  log?: Logger;
}

/** A and B back to back; `kinds[X]` records the inner kind of every message X sent. */
function pair(sa: Side, sb: Side, loss = 0) {
  const clock = new ManualClock();
  const rng = new Rng(7);
  const tuns = { [A]: new ChannelTun({ mtu: 1378 }), [B]: new ChannelTun({ mtu: 1378 }) };
  const deferred: (() => void)[] = [];
  const planes: Record<number, DataPlane> = {};
  const tables: Record<number, RemotePeers> = {};
  const kinds: Record<number, number[]> = { [A]: [], [B]: [] };
  const switches: string[] = [];
  const make = (self: number, other: number, side: Side) => {
    const table = (tables[self] = new RemotePeers({ bootId: boot[self]!, clock, random01: () => 0.5 }));
    table.upsert(infoOf(other, boot[other]!));
    const sender: PeerSender & { isDirect?(p: unknown): boolean } = {
      ...(side.direct !== undefined ? { isDirect: () => side.direct! } : {}),
      send: (_peer, inner) => {
        kinds[self]!.push(inner[0]!);
        if (rng.chance(loss)) return true;
        const copy = inner.slice();
        clock.setTimer(5 + rng.int(5), () => {
          const from = tables[other]?.get(infoOf(self, 0n).id);
          if (from) planes[other]?.inbound.receive(from, copy);
        });
        return true;
      },
    };
    const c = side.choice;
    return new DataPlane({
      tun: tuns[self]!, localAddress: self, prefixLength: 24, mtu: 1378, transport: side.transport, preset: presets.fast2, clock,
      defer: (fn) => deferred.push(fn), log: side.log ?? testLogger(), table, sender, ...(side.hubLeg ? { hubLeg: side.hubLeg } : {}),
      ...(c ? { choose: () => c.current, onModeSwitch: (_p: unknown, f: PairTransport, t: PairTransport) => switches.push(`${f.transport}->${t.transport}`) } : {}),
    });
  };
  planes[A] = make(A, B, sa);
  planes[B] = make(B, A, sb);
  tuns[A]!.onPackets((b) => planes[A]!.outbound.onTunBatch(b));
  tuns[B]!.onPackets((b) => planes[B]!.outbound.onTunBatch(b));
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += 5) {
      clock.advance(5);
      while (deferred.length) deferred.shift()!();
    }
  };
  /** n packets from `from` to `to`, 5 ms apart, then 3 s to settle; returns the seqs delivered. */
  const send = (from: number, to: number, n: number, base = 0) => {
    for (let i = 0; i < n; i++) {
      tuns[from]!.inject(udpPacket(from, to, base + i));
      run(5);
    }
    run(3000);
    return tuns[to]!.take().map(seqOf).sort((x, y) => x - y);
  };
  return { planes, tables, kinds, switches, send, run };
}

const relayedUdp = { transport: 'auto', fec: 'auto', direct: false, peerSpeaksFec: true } as const;
const kcp: PairTransport = decidePairTransport({ ...relayedUdp, ownLeg: 'udp' });
const dgram: PairTransport = decidePairTransport({ ...relayedUdp, ownLeg: 'tcp' });
const seqs = (n: number, base = 0) => Array.from({ length: n }, (_, i) => base + i);

describe('LegChannel (--transport auto)', () => {
  it('a pair whose ends chose differently (A datagrams, B pinned KCP) carries both directions', () => {
    // Before: a datagram-mode channel refused KCP input, so a mixed pair lost one direction entirely.
    const { send, kinds, planes } = pair({ transport: 'auto', choice: { current: dgram } }, { transport: 'kcp' });
    expect(send(A, B, 20)).toEqual(seqs(20));
    expect(send(B, A, 20)).toEqual(seqs(20));
    expect(kinds[A]!.filter((k) => k === InnerKind.IP).length).toBe(20);
    expect(kinds[B]!.every((k) => k === InnerKind.KCP)).toBe(true);
    expect(planes[A]!.counters.drops.kcp_rejected ?? 0).toBe(0);
  });

  it('switches a busy pair within a second of the choice changing, and logs the switch once', () => {
    const choice = { current: kcp };
    const { send, kinds, switches, planes } = pair({ transport: 'auto', choice }, { transport: 'auto' });
    expect(send(A, B, 10)).toEqual(seqs(10));
    expect(kinds[A]!.includes(InnerKind.IP)).toBe(false);
    expect(planes[A]!.status()[0]).toMatchObject({ mode: 'kcp', modeReason: 'udp-legs' });
    choice.current = dgram;
    kinds[A]!.length = 0;
    // send() spans more than modeCheckIntervalMs: the switch lands during it.
    expect(modeCheckIntervalMs).toBeLessThan(3000);
    expect(send(A, B, 10, 10)).toEqual(seqs(10, 10));
    expect(kinds[A]!.filter((k) => k === InnerKind.IP).length).toBe(10);
    expect(switches).toEqual(['kcp->datagram']);
    expect(planes[A]!.status()[0]).toMatchObject({ mode: 'datagram', modeReason: 'stream-leg' });
  });

  it('reconsiderModes() applies a new choice at once (the hub leg switched)', () => {
    const choice = { current: dgram };
    const { send, kinds, planes, run } = pair({ transport: 'auto', choice }, { transport: 'auto' });
    expect(send(A, B, 3)).toEqual(seqs(3));
    choice.current = kcp;
    planes[A]!.channels.reconsiderModes();
    kinds[A]!.length = 0;
    run(1);
    expect(send(A, B, 1, 3)).toEqual([3]);
    expect(kinds[A]![0]).toBe(InnerKind.KCP);
  });

  it('KCP chosen on a lossy path repairs every loss; datagrams chosen carry what arrives', () => {
    const lossyKcp = pair({ transport: 'auto', choice: { current: kcp } }, { transport: 'auto' }, 0.2);
    expect(lossyKcp.send(A, B, 100)).toEqual(seqs(100));
    const lossyDgram = pair({ transport: 'auto', choice: { current: dgram } }, { transport: 'auto' }, 0.2);
    const got = lossyDgram.send(A, B, 100);
    expect(got.length).toBeLessThan(100);
    expect(got.length).toBeGreaterThan(50);
  });

  it('status counts the KCP segments a pair holds: unacked while nothing comes back, none once acknowledged', () => {
    const dead = pair({ transport: 'auto', choice: { current: kcp } }, { transport: 'auto' }, 1);
    dead.send(A, B, 5);
    const held = dead.planes[A]!.status()[0]!;
    expect([held.waitSnd, held.unsent]).toEqual([5, 0]);
    const live = pair({ transport: 'auto', choice: { current: kcp } }, { transport: 'auto' });
    live.send(A, B, 5);
    const done = live.planes[A]!.status()[0]!;
    expect([done.waitSnd, done.unsent]).toEqual([0, 0]);
  });

  it('without a chooser of its own, auto goes through the one decision: KCP on a direct path', () => {
    const { send, kinds, planes } = pair({ transport: 'auto' }, { transport: 'auto' });
    expect(send(A, B, 5)).toEqual(seqs(5));
    expect(kinds[A]!.every((k) => k === InnerKind.KCP)).toBe(true);
    expect(planes[A]!.status()[0]).toMatchObject({ mode: 'kcp', modeReason: 'direct' });
  });

  it('--transport datagram is a pin inside the same decision: datagrams, reason "pinned"', () => {
    const { send, kinds, planes } = pair({ transport: 'datagram' }, { transport: 'kcp' });
    expect(send(A, B, 5)).toEqual(seqs(5));
    expect(kinds[A]!.every((k) => k === InnerKind.IP)).toBe(true);
    expect(planes[A]!.status()[0]).toMatchObject({ mode: 'datagram', modeReason: 'pinned' });
    expect(planes[A]!.status()[0]!.decision!.why).toMatch(/^datagram: set by --transport/);
  });

  it('smallPlainNow (the native fast path asks): always under datagrams; under KCP only with small messages proven plain', () => {
    const { send, tables } = pair({ transport: 'datagram' }, { transport: 'kcp' });
    send(A, B, 3);
    send(B, A, 3);
    const channelOf = (self: number, other: number) => tables[self]!.get(infoOf(other, 0n).id)!.channel as unknown as { smallPlainNow(): boolean };
    expect(channelOf(A, B).smallPlainNow()).toBe(true);
    expect(channelOf(B, A).smallPlainNow()).toBe(false); // KCP without the peer's datagram counts: never plain
  });

  it('the daemon\'s decision follows the hub leg: relayed over TCP -> datagrams, one log line per switch', () => {
    const leg = { current: 'udp' as 'udp' | 'tcp', udpLossPct: () => undefined };
    const logged: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void logged.push(JSON.parse(l) as Record<string, unknown>) });
    const { send, kinds, planes } = pair({ transport: 'auto', hubLeg: leg, direct: false, log }, { transport: 'auto' });
    expect(send(A, B, 5)).toEqual(seqs(5));
    expect(planes[A]!.status()[0]).toMatchObject({ mode: 'kcp', modeReason: 'udp-legs' });
    leg.current = 'tcp';
    planes[A]!.channels.reconsiderModes();
    kinds[A]!.length = 0;
    expect(send(A, B, 5, 5)).toEqual(seqs(5, 5));
    expect(kinds[A]!.filter((k) => k === InnerKind.IP).length).toBe(5);
    expect(planes[A]!.status()[0]).toMatchObject({ mode: 'datagram', modeReason: 'stream-leg' });
    const lines = logged.filter((o) => typeof o.msg === 'string' && o.msg.startsWith('data channel'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ from: 'kcp', to: 'datagram', reason: 'stream-leg' });
  });

  it('passes FEC\'s fast-resend depth on to KCP lanes built later (auto used to drop it)', () => {
    const spy = vi.spyOn(KcpLanes.prototype, 'setFecDepth');
    try {
      const { tables, send } = pair({ transport: 'auto', choice: { current: dgram } }, { transport: 'auto' });
      send(A, B, 1);
      const channel = tables[A]!.lookup(B)!.channel as LegChannel;
      channel.setFecDepth(13);
      expect(spy).not.toHaveBeenCalled();
      channel.input(new Uint8Array(0), channel.conv); // builds the lanes (the peer sent KCP)
      expect(spy).toHaveBeenCalledWith(13);
    } finally {
      spy.mockRestore();
    }
  });
});
