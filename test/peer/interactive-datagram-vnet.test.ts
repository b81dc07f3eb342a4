// Idle ping through the whole peer on the virtual internet (issue 19 item 7, session 8,
// interactive-datagram.ts): once a warm-up showed the path clean (the peer's datagrams arrived with
// no gap in their counters), a ping costs one plain datagram each way (no KCP segment, no KCP ACK,
// no thin-stream copy); the first loss (a reply dropped: a gap at A) puts A's small messages back on
// KCP until the hold is over and the path proved clean again; a lossy path never sends them plain.
// Before, every ping left as KCP: the request and its thin copy from A, the reply (with the ACK) and
// its copy from B, then A's ACK of the reply.
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import type { PeerSender } from '../../src/peer/channel.js';
import { DataPlane } from '../../src/peer/dataplane.js';
import type { DupSender } from '../../src/peer/dup-stage.js';
import type { LinkSender } from '../../src/peer/link-sender.js';
import { interactiveLossHoldMs } from '../../src/peer/interactive-datagram.js';
import type { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { InnerKind } from '../../src/wire/inner.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { testLogger } from '../fakes/logger.js';
import { topologies, World } from '../vnet/world.js';
import { IPPROTO_ICMP, ipv4TestPacket, testPacketSeq } from '../fakes/ipv4-packet.js';

const A = '10.9.0.2';
const B = '10.9.0.3';

const icmp = (src: string, dst: string, seq: number): Uint8Array => ipv4TestPacket(src, dst, IPPROTO_ICMP, 84, seq).p;
const seqOf = testPacketSeq;

/** A data plane whose sends are recorded by inner kind; `dropNext` loses the next message on the way. */
function dataPlaneFor(w: World, node: PeerNode, overlay: string) {
  const s = node.sender as PeerSender & DupSender & LinkSender;
  const sent: number[] = [];
  const ctl = { dropNext: false, dropped: 0 };
  const sender: DupSender & Pick<LinkSender, 'rxCounts'> = {
    rxCounts: (p) => s.rxCounts(p),
    send: (p, i) => {
      sent.push(i[0]!);
      if (!ctl.dropNext) return s.send(p, i);
      // Lost on the way: sealed (its counter spent), then dropped by the virtual internet.
      ctl.dropNext = false;
      ctl.dropped++;
      w.net.dropIf = () => true;
      const ok = s.send(p, i);
      w.net.dropIf = undefined;
      return ok;
    },
    sendRelay: (p, i) => s.sendRelay(p, i),
    isDirect: (p) => s.isDirect(p),
  };
  const tun = new ChannelTun({ mtu: 1378 });
  const dp = new DataPlane({
    tun, localAddress: ipv4ToU32(overlay), prefixLength: 24, mtu: 1378, transport: 'kcp', preset: presets.fast2, clock: w.clock,
    defer: (fn) => w.clock.setTimer(0, fn), log: testLogger('dp'), table: node.remotes, sender,
  });
  node.attachData(dp.inbound);
  tun.onPackets((b) => dp.outbound.onTunBatch(b));
  return { tun, dp, sent, ctl };
}

async function world(loss: number) {
  const q = { loss, delayMs: 10 };
  const w = new World(3, { internet: q, lan: q });
  w.startHub();
  const a = w.peer(topologies[0]!.a, A);
  const b = w.peer(topologies[0]!.b, B);
  await w.join(a, 6_000);
  await w.join(b, 6_000);
  w.run(12_000);
  const pa = dataPlaneFor(w, a, A);
  const pb = dataPlaneFor(w, b, B);
  /** One ping from A, B's kernel echoing it; the kinds each side sent for it, and its RTT. */
  const ping = (seq: number, afterMs: number) => {
    const fromA = pa.sent.length;
    const fromB = pb.sent.length;
    const t0 = w.clock.now();
    pa.tun.inject(icmp(A, B, seq));
    let rtt = Infinity;
    for (let t = 0; t < afterMs; t++) {
      w.clock.advance(1);
      for (const p of pb.tun.take()) pb.tun.inject(icmp(B, A, seqOf(p)));
      if (rtt === Infinity && pa.tun.take().some((p) => seqOf(p) === seq)) rtt = w.clock.now() - t0;
    }
    return { a: pa.sent.slice(fromA), b: pb.sent.slice(fromB), rtt };
  };
  // Warm-up: 1,000 pings 10 ms apart (the bench's --idle-warmup), then the FEC ticks take a reading.
  for (let i = 0; i < 1000; i++) ping(i, 10);
  w.run(3_000);
  return { w, a, pa, pb, ping };
}

const plainOneEach = (r: { a: number[]; b: number[] }) => r.a.length === 1 && r.b.length === 1 && r.a[0] === InnerKind.IP && r.b[0] === InnerKind.IP;

describe('idle ping on a clean path: one datagram each way (interactive-datagram.ts)', { timeout: 120_000 }, () => {
  it('a clean path: pings go plain both ways; the first loss brings KCP back until the path proves clean again', async () => {
    const { a, pa, pb, ping } = await world(0);
    expect(a.peers()[0]!.path).toBe('direct');
    // 20 pings 200 ms apart (the bench's 40@0.2).
    const rounds = Array.from({ length: 20 }, (_, i) => ping(10_000 + i, 200));
    if (process.env.MESHD_TEST_LOGS) console.log(JSON.stringify(rounds.map((r) => [r.a, r.b, r.rtt])));
    expect(rounds.every((r) => r.rtt === 20)).toBe(true);
    expect(rounds.every(plainOneEach)).toBe(true);
    // B's next reply is lost: A sees a gap in B's counters when the one after arrives.
    pb.ctl.dropNext = true;
    const late = Array.from({ length: 25 }, (_, i) => ping(20_000 + i, 200));
    expect(pb.ctl.dropped).toBe(1);
    expect(late[0]!.rtt).toBe(Infinity);
    // Within a second or two every request of A rides KCP again, and stays there (B, which lost
    // nothing, still answers plain).
    const tail = late.slice(10);
    expect(tail.every((r) => r.a.length > 0 && !r.a.includes(InnerKind.IP))).toBe(true);
    expect(tail.every((r) => r.rtt === 20)).toBe(true);
    // After the hold and 200 clean replies, plain again.
    ping(30_000, interactiveLossHoldMs);
    for (let i = 0; i < 300; i++) ping(31_000 + i, 10);
    const again = Array.from({ length: 10 }, (_, i) => ping(40_000 + i, 200));
    expect(again.every(plainOneEach)).toBe(true);
  });

  it('5 % loss each way: every ping rides KCP (the gaps show it; the KCP reading alone would not)', async () => {
    const { ping } = await world(0.05);
    const rounds = Array.from({ length: 20 }, (_, i) => ping(10_000 + i, 200));
    expect(rounds.every((r) => !r.a.includes(InnerKind.IP) && !r.b.includes(InnerKind.IP))).toBe(true);
    expect(rounds.filter((r) => r.rtt !== Infinity).length).toBe(20);
  });
});
