// Interactive latency under loss (issue 19 item 3) through the whole peer on the virtual internet:
// after a transfer gave the pair a loss reading, a ping-like flow does one small request/response at
// a time over a path losing 10 % each way (seeded). No reply may wait for a retransmission: the
// copies of each message (dup-stage.ts) must get one through, so the p99 stays under 2x the base RTT
// in virtual time and at most one round in 400 waits for a repair. Before, a 40 ms request/response
// loop (~60 messages a second with ACKs) counted as bulk after its first second and was not copied:
// 1-2 % of rounds waited for FEC's parity (+10 ms) or KCP's retransmit (+60 ms).
import { describe, expect, it } from 'vitest';
import { keyPairFromPrivate } from '../../src/crypto/keys.js';
import { dupSpacingMs } from '../../src/peer/dup-decide.js';
import { udpTestPacket, vnetDataPlane } from '../vnet/data-plane.js';
import { topologies, World } from '../vnet/world.js';

const A = '10.9.0.2';
const B = '10.9.0.3';

const udpPacket = udpTestPacket;
const dataPlaneFor = vnetDataPlane;

const seqOf = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset).getUint32(28);

describe('interactive latency under loss on the virtual internet', { timeout: 180_000 }, () => {
  it('10 % loss each way: p99 of a request/response stays under 2x the base RTT', async () => {
    const q = { loss: 0.1, delayMs: 20 };
    const w = new World(11, { internet: q, lan: q });
    w.startHub();
    // Fixed keys: which side leads the handshake follows the keys, and with it which packets meet
    // which of the seeded loss draws; with fresh keys every run drew differently (1 run in ~4 had 3
    // rounds waiting for a repair).
    const a = w.peer(topologies[0]!.a, A, { keyPair: keyPairFromPrivate(new Uint8Array(32).fill(0x11)) });
    const b = w.peer(topologies[0]!.b, B, { keyPair: keyPairFromPrivate(new Uint8Array(32).fill(0x22)) });
    await w.join(a, 6_000);
    await w.join(b, 6_000);
    w.run(12_000);
    expect(a.peers()[0]!.path).toBe('direct');
    const pa = dataPlaneFor(w, a, A);
    const pb = dataPlaneFor(w, b, B);
    // A transfer on its own lane gives the pair its loss reading (KCP's retransmits, then FEC's report).
    for (let i = 0; i < 3000; i += 10) {
      for (let j = i; j < i + 10; j++) pa.tun.inject(udpPacket(A, B, 6000, 7000, j, 1000));
      w.clock.advance(5);
      pb.tun.take();
    }
    w.run(3_000);
    pb.tun.take();
    // The interactive flow: one 100-byte request, B echoes it at once, A waits for the reply.
    const rounds = 400;
    const samples: number[] = [];
    let bEarly = 0;
    for (let r = 0; r < rounds; r++) {
      if (r === 20) bEarly = pb.dp.dup.stats.doubled;
      const t0 = w.clock.now();
      pa.tun.inject(udpPacket(A, B, 4000, 5000, r, 100));
      let done = false;
      for (let t = 0; t < 2_000 && !done; t++) {
        w.clock.advance(1);
        for (const p of pb.tun.take()) if (seqOf(p) === r) pb.tun.inject(udpPacket(B, A, 5000, 4000, r, 100));
        if (pa.tun.take().some((p) => seqOf(p) === r)) done = true;
      }
      samples.push(done ? w.clock.now() - t0 : Infinity);
      w.clock.advance(10); // a think time between keystrokes
      pb.tun.take();
    }
    const sorted = [...samples].sort((x, y) => x - y);
    const base = sorted[0]!;
    const p99 = sorted[Math.floor(rounds * 0.99) - 1]!;
    const st = pa.dp.dup.stats;
    if (process.env.MESHD_TEST_LOGS) console.log(JSON.stringify(Object.entries(samples.reduce<Record<number, number>>((h, x) => ((h[x] = (h[x] ?? 0) + 1), h), {}))), JSON.stringify(pb.dp.dup.stats), JSON.stringify(pa.dp.fecStatus(a.remotes)[B]));
    if (process.env.MESHD_TEST_LOGS) console.log(JSON.stringify({ base, p50: sorted[rounds / 2], p99, worst: sorted[rounds - 1], st }));
    expect(base).toBeGreaterThan(0);
    // B only answered, so it has no loss reading of its own for a while: it copies its replies from
    // the first rounds on the loss it measured on A's frames.
    expect(bEarly).toBeGreaterThanOrEqual(20);
    expect(p99).toBeLessThanOrEqual(2 * base);
    // A round that waited for a repair (FEC's parity after its flush delay, or KCP's retransmit)
    // takes longer than one late copy each way; every copy of a request or a reply lost happens
    // about once in 5,000 messages (dup-decide.ts dupTargetAllLost). Which rounds that hits depends
    // on the seed's draws, which any change in the bulk phase before shifts: world seeds 11/12/14
    // gave 1/1/3 such rounds before KCP's RACK (issue 19, session 5) and 2/1/0 with it.
    expect(samples.filter((s) => s > base + 2 * dupSpacingMs).length).toBeLessThanOrEqual(2);
  });
});
