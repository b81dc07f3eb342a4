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
function drive(rc: RateControl, o: { rate: number; rttMs: number; ms: number; start?: number; supply?: (now: number) => boolean }): number {
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
      f.ackAt = linkFree + o.rttMs;
      flights.push(f);
      sent = true;
    }
    if (!sent && !(o.supply?.(now) ?? true)) rc.markAppLimited();
  }
  return now;
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
});
