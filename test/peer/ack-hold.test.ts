// Idle ping overhead (issue 19 item 7, ack-hold.ts): on a clean direct path, B's KCP ACK of a ping
// rides in the datagram of the echo reply (which the kernel has ready by the next loop turn) instead
// of leaving alone just before it: one datagram less from B per round trip, and no round trip slower. A transfer's ACKs never wait (the lanes' holdsAck).
import { describe, expect, it } from 'vitest';
import { DataPlane } from '../../src/peer/dataplane.js';
import { presets } from '../../src/arq/constants.js';
import type { PeerSender } from '../../src/peer/channel.js';
import type { DupSender } from '../../src/peer/dup-stage.js';
import type { PeerNode } from '../../src/peer/node.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { InnerKind } from '../../src/wire/inner.js';
import { KcpChannel } from '../../src/peer/kcp-channel.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { ChannelTun } from '../fakes/channel-tun.js';
import { testLogger } from '../fakes/logger.js';
import { topologies, World } from '../vnet/world.js';
import { ipv4TestPacket, testPacketSeq } from '../fakes/ipv4-packet.js';

const A = '10.9.0.2';
const B = '10.9.0.3';

function packet(proto: number, src: string, dst: string, seq: number, size: number): Uint8Array {
  const { p, v } = ipv4TestPacket(src, dst, proto, size, seq);
  v.setUint16(20, 4000);
  v.setUint16(22, 5000);
  return p;
}
const seqOf = testPacketSeq;

/** B's kernel: answers each request written to the TUN, ready by the next loop turn (a 0 ms timer,
 * which the world runs after the data plane's deferred flush that was due first). */
class EchoTun extends ChannelTun {
  constructor(private readonly w: World, private readonly reply: (p: Uint8Array) => Uint8Array | undefined) {
    super({ mtu: 1378 });
  }
  override write(p: Uint8Array): boolean {
    const r = this.reply(p);
    if (r) this.w.clock.setTimer(0, () => this.inject(r));
    return super.write(p);
  }
}

function dataPlaneFor(w: World, node: PeerNode, overlay: string, tun: ChannelTun) {
  const s = node.sender as PeerSender & DupSender;
  const sent = { kcp: 0 };
  const sender: DupSender = {
    send: (p, i) => (i[0] === InnerKind.KCP && sent.kcp++, s.send(p, i)),
    sendRelay: (p, i) => s.sendRelay(p, i),
    isDirect: (p) => s.isDirect(p),
  };
  const dp = new DataPlane({
    tun, localAddress: ipv4ToU32(overlay), prefixLength: 24, mtu: 1378, transport: 'kcp', preset: presets.fast2, clock: w.clock,
    defer: (fn) => w.clock.setTimer(0, fn), log: testLogger('dp'), table: node.remotes, sender,
  });
  node.attachData(dp.inbound);
  tun.onPackets((b) => dp.outbound.onTunBatch(b));
  return { tun, dp, sent };
}

describe('KcpChannel.holdsAck: only the lone ACK of a small message waits', () => {
  function pair() {
    const clock = new ManualClock();
    const peer = {} as RemotePeer;
    const wire: Uint8Array[] = [];
    const mk = () => new KcpChannel({ conv: 7, mtu: 1378, preset: presets.fast2, clock, peer, sender: { send: (_p, i) => (wire.push(i.slice(1)), true) } });
    return { a: mk(), b: mk(), wire };
  }
  it.each<[string, number, boolean, boolean]>([
    ['a ping-sized request: its ACK may wait for the reply', 84, false, true],
    ['a full segment (a transfer): its ACK leaves now', 1378, false, false],
    ['B has data of its own queued: nothing waits', 84, true, false],
  ])('%s', (_why, size, bSends, want) => {
    const { a, b, wire } = pair();
    a.send(new Uint8Array(size).fill(0x45));
    a.flush();
    for (const d of wire.splice(0)) b.input(d);
    if (bSends) b.send(new Uint8Array(84).fill(0x45));
    expect(b.holdsAck).toBe(want);
    b.flush();
    expect(b.holdsAck).toBe(false); // flushed: nothing owed
    a.close();
    b.close();
  });
});

describe('ACK piggybacking on the echo reply', { timeout: 60_000 }, () => {
  it('an idle ping costs B one datagram less per round trip, and no time', async () => {
    const w = new World(5, { internet: { delayMs: 20 }, lan: { delayMs: 20 } });
    w.startHub();
    const a = w.peer(topologies[0]!.a, A);
    const b = w.peer(topologies[0]!.b, B);
    await w.join(a, 6_000);
    await w.join(b, 6_000);
    w.run(12_000);
    const pa = dataPlaneFor(w, a, A, new ChannelTun({ mtu: 1378 }));
    const icmpReply = (p: Uint8Array) => (p[9] === 1 ? packet(1, B, A, seqOf(p), p.byteLength) : undefined);
    const pb = dataPlaneFor(w, b, B, new EchoTun(w, icmpReply));
    const rounds = 20;
    const rtts: number[] = [];
    pb.sent.kcp = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = w.clock.now();
      pa.tun.inject(packet(1, A, B, r, 84));
      let done = false;
      for (let t = 0; t < 500 && !done; t++) {
        w.clock.advance(1);
        if (pa.tun.take().some((p) => seqOf(p) === r)) done = true;
      }
      rtts.push(done ? w.clock.now() - t0 : Infinity);
      w.run(1_000); // an idle ping: once a second
    }
    if (process.env.MESHD_TEST_LOGS) console.log(JSON.stringify({ rtts, b: pb.sent, a: pa.sent }));
    expect(rtts.every((x) => x === 40)).toBe(true);
    // Per round B sends the reply with the ACK in it and KCP's thin-stream copy of the reply (kcp.ts);
    // before, the ACK left alone first: three datagrams.
    expect(pb.sent.kcp).toBe(2 * rounds);
  });
});

describe('an idle ping through two lanes (issue 19 item 7, session 7)', () => {
  it('leaves at once (no clock advance, no deferral) and leaves no timer behind once the reply is acked', () => {
    const clock = new ManualClock();
    const peer = {} as RemotePeer;
    const toB: Uint8Array[] = [];
    const toA: Uint8Array[] = [];
    const mk = (out: Uint8Array[]) => new KcpChannel({ conv: 7, mtu: 1378, preset: presets.fast2, clock, peer, sender: { send: (_p, i) => (out.push(i.slice(1)), true) } });
    const a = mk(toB);
    const b = mk(toA);
    const ping = new Uint8Array(84).fill(0x45);
    // A: the TUN batch's one packet goes out in the same call.
    a.send(ping);
    a.flush();
    expect(toB.length).toBeGreaterThan(0);
    // B: takes it, its reply rides with the ACK (the channel's flush after the TUN read).
    clock.advance(0.2);
    for (const d of toB.splice(0)) b.input(d);
    expect(b.receive()).toEqual(ping);
    b.send(ping);
    b.flush();
    // A: takes the reply and its ACK, acks the reply alone.
    clock.advance(0.2);
    for (const d of toA.splice(0)) a.input(d);
    expect(a.receive()).toEqual(ping);
    a.flush();
    clock.advance(0.2);
    for (const d of toB.splice(0)) b.input(d);
    b.flush();
    // Nothing in flight either way: no KCP timer is left to wake either process an interval later.
    expect(clock.pending).toBe(0);
    clock.advance(1_000);
    expect(toA.length + toB.length).toBe(0);
    a.close();
    b.close();
  });
});
