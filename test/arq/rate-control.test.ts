// RateControl alone (src/arq/rate-control.ts), fed a synthetic path: segments leave when the
// pacer allows, cross a fixed-rate pipe with a fixed delay, and their acks come back. The
// estimates, modes and pacing must follow the path; the queue test shows the standing-queue flag.
import { describe, expect, it } from 'vitest';
import { RateControl, RcMode, type RateSnapshot } from '../../src/arq/rate-control.js';

const seg = 1400;

interface Flight extends RateSnapshot {
  ackAt: number;
}

/**
 * Drives one controller for `ms` over a pipe of `rate` bytes/ms and `rttMs`; `supply(now)` says
 * whether the sender has data (false = app-limited). Steps of 0.25 ms. Returns the controller.
 */
function drive(rc: RateControl, o: { rate: number; rttMs: number; ms: number; start?: number; supply?: (now: number) => boolean; extraDelay?: (now: number) => number; onStep?: (now: number) => void }): number {
  const flights: Flight[] = [];
  let linkFree = o.start ?? 0;
  let now = o.start ?? 0;
  const end = now + o.ms;
  for (; now < end; now += 0.25) {
    // Acks due now.
    let acked = false;
    while (flights.length > 0 && flights[0]!.ackAt <= now) {
      const f = flights.shift()!;
      rc.queueAck(f, seg);
      rc.queueRtt(f.rcSentAt, Math.floor(f.rcSentAt) >>> 0);
      acked = true;
    }
    if (acked) rc.settle(now);
    // Send while the window and the pacer allow.
    let sent = false;
    while ((o.supply?.(now) ?? true) && rc.inflight + seg <= rc.cwndBytes() && rc.canSend(seg, now)) {
      const f = { ackAt: 0, rcSentAt: 0, rcDelivered: 0, rcDeliveredAt: 0, rcFirstSentAt: 0, rcAppLimited: false };
      rc.onSend(f, seg, now, true);
      // The bottleneck serialises at `rate`; the ack returns rttMs after the data leaves it.
      linkFree = Math.max(linkFree, now) + seg / o.rate;
      f.ackAt = linkFree + o.rttMs + (o.extraDelay?.(now) ?? 0);
      flights.push(f);
      sent = true;
    }
    if (!sent && !(o.supply?.(now) ?? true)) rc.markAppLimited();
    o.onStep?.(now);
  }
  return now;
}

/**
 * A controller fed by a TCP in slow start inside the tunnel: it offers 1.5x more each 40 ms (what
 * bench/vpn's first transfer showed), from 10 segments per round trip, and waits for nothing else.
 */
/** A controller that counts the bytes it was told were sent (the app-limited sources below). */
function countingController(): { rc: RateControl; sent: () => number } {
  let sent = 0;
  const rc = new (class extends RateControl {
    override onSend(sn: RateSnapshot, bytes: number, now: number, first: boolean): void {
      sent += bytes;
      super.onSend(sn, bytes, now, first);
    }
  })(seg);
  return { rc, sent: () => sent };
}

function rampingSender(): { rc: RateControl; supply: (now: number) => boolean } {
  const { rc, sent } = countingController();
  const r0 = (10 * seg) / 40;
  const offered = (now: number) => ((r0 * 40) / Math.log(1.5)) * (Math.pow(1.5, now / 40) - 1) + 4 * seg;
  return { rc, supply: (now) => sent() + seg <= offered(now) };
}

describe('RateControl on a synthetic pipe', () => {
  it.each([
    { rate: 1250, rttMs: 40, why: '10 Mbit/s, 40 ms' },
    { rate: 12_500, rttMs: 40, why: '100 Mbit/s, 40 ms' },
    { rate: 12_500, rttMs: 2, why: '100 Mbit/s, 2 ms (LAN-like)' },
  ])('$why: the rate and min RTT are found, Startup ends, in-flight stays near 2 BDP', ({ rate, rttMs }) => {
    const rc = new RateControl(seg);
    drive(rc, { rate, rttMs, ms: 3000 });
    expect(rc.btlBw).toBeGreaterThan(rate * 0.9);
    expect(rc.btlBw).toBeLessThan(rate * 1.1);
    expect(rc.minRtt).toBeGreaterThanOrEqual(rttMs);
    expect(rc.minRtt).toBeLessThan(rttMs + seg / rate + 0.5); // plus one segment's serialisation
    expect(rc.mode).toBe(RcMode.ProbeBw);
    expect(rc.inflight).toBeLessThanOrEqual(2 * rate * rc.minRtt + 16 * seg);
  });

  it('app-limited samples never lower the estimate (a sender going quiet keeps its rate)', () => {
    const rc = new RateControl(seg);
    const t = drive(rc, { rate: 12_500, rttMs: 40, ms: 2000 });
    const bw = rc.btlBw;
    // One segment every 10 ms for 2 s: a trickle far below the path.
    drive(rc, { rate: 12_500, rttMs: 40, ms: 2000, start: t, supply: (now) => Math.floor(now * 4) % 40 === 0 });
    expect(rc.btlBw).toBeGreaterThan(bw * 0.9);
  });

  it('a standing queue (RTTs all 30 % above the minimum) is flagged, and then nothing probes above the estimate', () => {
    const rc = new RateControl(seg);
    const t = drive(rc, { rate: 12_500, rttMs: 40, ms: 2000 });
    expect(rc.queued).toBe(false);
    // Same pipe, 12 ms more delay on every packet (a queue someone else built).
    drive(rc, { rate: 12_500, rttMs: 52, ms: 500, start: t });
    expect(rc.queued).toBe(true);
    expect(rc.pacingRate()).toBeLessThanOrEqual(rc.btlBw);
  });

  it('pacing: a burst is at most ~5 ms of the rate, and the next send time follows the rate', () => {
    const rc = new RateControl(seg);
    drive(rc, { rate: 12_500, rttMs: 40, ms: 2000 });
    let n = 0;
    const t = 5000;
    while (rc.canSend(seg, t)) {
      rc.onSend({ rcSentAt: 0, rcDelivered: 0, rcDeliveredAt: 0, rcFirstSentAt: 0, rcAppLimited: false }, seg, t, true);
      n++;
    }
    expect(n * seg).toBeLessThanOrEqual(rc.btlBw * 5 + seg);
    expect(n).toBeGreaterThan(4);
    const next = rc.nextSendAt(seg, t);
    expect(next).toBeGreaterThan(t);
    expect(next - t).toBeLessThanOrEqual((2 * seg) / rc.pacingRate());
  });

  // Issue 19 item 6: a queue that shows while the delivery rate still rises ~1.5x per round is not
  // the bottleneck's. Leaving Startup on it cost the first transfer after start ~2 s (bench/vpn
  // relay, uncapped: 18 -> 34 -> 46 -> 93 Mbit/s per second): a TCP inside the tunnel, starved by
  // Drain and a 1.25x-per-8-rounds ProbeBW, left its own Startup at that rate.
  it.each([
    { why: 'a 25 ms stall of every ack for 60 ms while ramping at 25 % of the rate (a busy host): Startup goes on', at: 200, forMs: 60, extra: 25 },
    { why: 'a 15 ms stall for 100 ms, earlier (10 % of the rate)', at: 120, forMs: 100, extra: 15 },
    { why: 'no stall (control)', at: 0, forMs: 0, extra: 0 },
  ])('$why', ({ at, forMs, extra }) => {
    const rate = 12_500; // 100 Mbit/s, 40 ms
    // The sender is a TCP in slow start inside the tunnel: it offers 1.5x more each 40 ms (what the
    // bench's first transfer showed), from 10 segments per round trip; it waits for nothing else.
    const { rc, supply } = rampingSender();
    let reachedAt = -1;
    drive(rc, {
      rate,
      rttMs: 40,
      ms: 1000,
      supply,
      extraDelay: (now) => (now >= at && now < at + forMs ? extra : 0),
      onStep: (now) => {
        rc.setBacklogged(supply(now));
        if (reachedAt < 0 && rc.btlBw >= rate * 0.9) reachedAt = now;
      },
    });
    // Unstalled, the estimate reaches the rate at ~405 ms; with a stall that ended Startup, ~700 ms
    // here (a re-Startup after a probe; a TCP inside the tunnel would not give that probe its data).
    expect(reachedAt).toBeGreaterThan(0);
    expect(reachedAt).toBeLessThanOrEqual(500);
    expect(rc.btlBw).toBeGreaterThan(rate * 0.9);
    expect(rc.btlBw).toBeLessThan(rate * 1.3); // (acks bunched by the stall overestimate a little)
  });

  it('a real bottleneck still ends Startup on its queue within a few rounds of reaching it, with in-flight bounded', () => {
    // 10 Mbit/s, 40 ms, the same ramping sender (app-limited: only the queue can end Startup): the
    // offered rate passes the path's at ~260 ms.
    const { rc, supply } = rampingSender();
    let maxInflight = 0;
    let endedAt = -1;
    drive(rc, {
      rate: 1250,
      rttMs: 40,
      ms: 2000,
      supply,
      onStep: (now) => {
        rc.setBacklogged(supply(now));
        if (rc.inflight > maxInflight) maxInflight = rc.inflight;
        if (endedAt < 0 && rc.mode !== RcMode.Startup) endedAt = now;
      },
    });
    expect(endedAt).toBeGreaterThan(0);
    expect(endedAt).toBeLessThanOrEqual(400); // main: 291 ms, this: 320 (one more round)
    expect(rc.btlBw).toBeGreaterThan(1250 * 0.9);
    expect(maxInflight).toBeLessThanOrEqual(3 * 1250 * 40 + 32 * seg);
  });

  // Issue 19 item 6: a flow's first samples come from its handshake (a few small packets per round
  // trip). Startup then paced at 2.9x of that and capped the window at 16 segments, so a TCP
  // inside the tunnel starting from ten packets grew ~1.5x per round trip instead of 2x.
  it.each([
    { why: 'after a handshake-sized first sample, Startup paces and windows at least at the initial values', handshakeSegs: 2 },
    { why: 'after a first sample of ten segments (IW10)', handshakeSegs: 10 },
  ])('$why', ({ handshakeSegs }) => {
    const { rc, sent } = countingController();
    drive(rc, { rate: 12_500, rttMs: 40, ms: 200, supply: () => sent() < handshakeSegs * seg });
    expect(rc.mode).toBe(RcMode.Startup);
    expect(rc.btlBw).toBeGreaterThan(0);
    expect(rc.btlBw * 2.885).toBeLessThan((2.885 * 32 * seg) / rc.minRtt); // the estimate alone would pace slower
    expect(rc.pacingRate()).toBeGreaterThanOrEqual((2.885 * 32 * seg) / rc.minRtt);
    expect(rc.cwndBytes()).toBeGreaterThanOrEqual(32 * seg);
  });
});
