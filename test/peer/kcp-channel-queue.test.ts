// A KCP lane on a long fat path (issue 19 item 4): 1 s RTT through a 14 Mbit/s bottleneck (a BDP of
// 1,500 packets, as 200 ms at 70 Mbit/s, with fewer packets to simulate), the
// sender kept busy like an inner TCP that always has a little more to send. Packets in flight are
// KCP's (window span, the rate controller's ~2 BDP), not queue: the lane must not drop packets while
// it has more than the old 2,048-packet limit in flight, and must reach the bottleneck's rate.
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import { KcpChannel } from '../../src/peer/kcp-channel.js';
import type { PeerSender } from '../../src/peer/channel.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import { ManualClock } from '../fakes/manual-clock.js';

const mtu = 1200;
const oneWayMs = 500;
/** Bottleneck: packets per ms each way (1.5/ms of ~1.2 KB = 14 Mbit/s), FIFO, no loss. */
const perMs = 1.5;

function run(seconds: number) {
  const clock = new ManualClock();
  const peer = {} as RemotePeer;
  const chans: { a?: KcpChannel; b?: KcpChannel } = {};
  // One FIFO per direction: a datagram leaves the bottleneck at its service time, arrives oneWayMs later.
  const busyUntil = { a: 0, b: 0 };
  const link = (from: 'a' | 'b'): PeerSender => ({
    send: (_p, inner) => {
      const copy = inner.slice(1); // the inner kind byte
      const start = Math.max(clock.now(), busyUntil[from]);
      busyUntil[from] = start + 1 / perMs;
      clock.setTimer(busyUntil[from] - clock.now() + oneWayMs, () => {
        const to = from === 'a' ? chans.b! : chans.a!;
        to.input(copy);
        while (to.receive() !== undefined) delivered[to === chans.b ? 'b' : 'a']++;
        to.flush();
      });
      return true;
    },
  });
  const delivered = { a: 0, b: 0 };
  chans.a = new KcpChannel({ conv: 7, mtu, preset: presets.fast2, clock, peer, sender: link('a') });
  chans.b = new KcpChannel({ conv: 7, mtu, preset: presets.fast2, clock, peer, sender: link('b') });
  const packet = new Uint8Array(mtu);
  let dropped = 0;
  let maxInFlight = 0;
  for (let ms = 0; ms < seconds * 1000; ms++) {
    // Like an inner TCP that always has more: keep 64 packets waiting to be sent.
    const s = chans.a.stats;
    maxInFlight = Math.max(maxInFlight, s.waitSnd - s.unsent);
    for (let i = 0; i < 40 && chans.a.stats.unsent < 64; i++) if (!chans.a.send(packet)) dropped++;
    chans.a.flush();
    clock.advance(1);
  }
  return { dropped, maxInFlight, delivered: delivered.b };
}

describe('KcpChannel queue limit', () => {
  it('keeps more than 2,048 packets in flight on a long fat path without dropping', () => {
    const r = run(8);
    expect(r.dropped).toBe(0);
    expect(r.maxInFlight).toBeGreaterThan(2048);
    // Data moved (startup takes ~6 of the 8 round trips here).
    expect(r.delivered).toBeGreaterThan(3000);
  }, 60_000);
});
