// RateControl.setCeiling (src/arq/rate-control.ts, issue 19 item 6): a relayed pair's controller
// told the hub's budget. Fed a synthetic path (a fixed-rate pipe, a fixed delay, acks back), as
// test/arq/rate-control.test.ts does: it starts at the ceiling, never paces above it, backs off to
// a slower pipe behind it, and without a ceiling behaves exactly as before (direct paths).
import { describe, expect, it } from 'vitest';
import { RateControl, RcMode, type RateSnapshot } from '../../src/arq/rate-control.js';

const seg = 1400;
/** rate-control.ts startupGain (2/ln 2). */
const startupGainForTest = 2.885;

interface Flight extends RateSnapshot {
  ackAt: number;
}

/** Sends what the window and pacer allow over a pipe of `rate` bytes/ms and `rttMs`, always backlogged,
 * for `ms` in 0.25 ms steps; bytes acked per `windowMs`, the most it ever paced at, and the longest
 * queue (ms) the pipe held. */
function run(rc: RateControl, o: { rate: number; rttMs: number; ms: number; windowMs: number; queueFromMs?: number }): { acked: number[]; maxPacing: number; maxQueueMs: number } {
  const flights: Flight[] = [];
  const acked: number[] = [];
  let linkFree = 0;
  let got = 0;
  let maxPacing = 0;
  let maxQueueMs = 0;
  for (let now = 0; now < o.ms; now += 0.25) {
    let any = false;
    while (flights.length > 0 && flights[0]!.ackAt <= now) {
      const f = flights.shift()!;
      rc.queueAck(f, seg);
      rc.queueRtt(f.rcSentAt, Math.floor(f.rcSentAt) >>> 0);
      got += seg;
      any = true;
    }
    if (any) rc.settle(now);
    while (rc.inflight + seg <= rc.cwndBytes() && rc.canSend(seg, now)) {
      const f = { ackAt: 0, rcSentAt: 0, rcDelivered: 0, rcDeliveredAt: 0, rcFirstSentAt: 0, rcAppLimited: false };
      rc.onSend(f, seg, now, true);
      linkFree = Math.max(linkFree, now) + seg / o.rate;
      if (now >= (o.queueFromMs ?? 0)) maxQueueMs = Math.max(maxQueueMs, linkFree - now);
      f.ackAt = linkFree + o.rttMs;
      flights.push(f);
    }
    maxPacing = Math.max(maxPacing, rc.pacingRate());
    if ((Math.round(now * 4) + 1) % (o.windowMs * 4) === 0) {
      acked.push(got);
      got = 0;
    }
  }
  return { acked, maxPacing, maxQueueMs };
}

describe('RateControl with a ceiling (a relayed pair told the relay budget)', () => {
  it.each([
    // [why, pipe bytes/ms, ceiling bytes/ms, rtt ms]
    ['a pipe twice the ceiling (the hub shapes, the rest of the path is fast), 40 ms', 12_500, 6_250, 40],
    ['the same at 200 ms, where a ramp costs most', 12_500, 6_250, 200],
    ['a slow budget (2 Mbit/s) on a fast pipe', 12_500, 250, 40],
  ])('%s: from the second round trip on >= 90 percent of the ceiling, never paced above it, no more than it over the run', (_why, rate, ceiling, rtt) => {
    const rc = new RateControl(seg);
    rc.setCeiling(ceiling);
    const { acked, maxPacing, maxQueueMs } = run(rc, { rate, rttMs: rtt, ms: 20 * rtt, windowMs: rtt });
    // Window i holds what was sent in round trip i - 1 (the acks lag one round trip).
    for (const bytes of acked.slice(2)) expect(bytes / rtt).toBeGreaterThanOrEqual(0.9 * ceiling);
    // Over the run, at most the ceiling plus one pacing burst (a few segments).
    expect(acked.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(ceiling * 20 * rtt + 8 * seg);
    expect(maxPacing).toBeLessThanOrEqual(ceiling);
    // The pipe is faster than the ceiling: nothing stands in it.
    expect(maxQueueMs).toBeLessThan(1);
  });

  it('without a ceiling the same pipe is found by ramping: the contrast (direct paths keep this)', () => {
    const rc = new RateControl(seg);
    const { acked } = run(rc, { rate: 12_500, rttMs: 200, ms: 4_000, windowMs: 200 });
    expect(acked[2]! / 200).toBeLessThan(0.5 * 6_250);
  });

  it('a pipe slower than the ceiling (the path past the hub is the bottleneck): the queue ends the probe at the ceiling and the queue stays bounded', () => {
    const rc = new RateControl(seg);
    rc.setCeiling(6_250);
    const { acked, maxQueueMs } = run(rc, { rate: 2_500, rttMs: 40, ms: 6_000, windowMs: 1_000 });
    for (const bytes of acked.slice(1)) expect(bytes / 1_000).toBeGreaterThanOrEqual(0.9 * 2_500);
    // Pacing at the ceiling fills the pipe's queue for a while; the queue signal caps it to the
    // estimate. Bounded by the window (2 round trips at the ceiling): never a runaway.
    expect(maxQueueMs).toBeLessThanOrEqual((2 * 6_250 * 40) / 2_500 + 1);
    expect(rc.mode === RcMode.ProbeBw || rc.mode === RcMode.ProbeRtt).toBe(true);
  });

  it('a ceiling ten times the path: after the first Startup\'s bet the queue stays within one BDP (the 2 BDP window), not the ceiling\'s', () => {
    const rc = new RateControl(seg);
    rc.setCeiling(25_000);
    // The first round trip goes out at the ceiling (the bet): the queue is measured from the 2nd second.
    const got = run(rc, { rate: 2_500, rttMs: 40, ms: 10_000, windowMs: 1_000, queueFromMs: 2_000 });
    for (const bytes of got.acked.slice(1)) expect(bytes / 1_000).toBeGreaterThanOrEqual(0.9 * 2_500);
    const plain = run(new RateControl(seg), { rate: 2_500, rttMs: 40, ms: 10_000, windowMs: 1_000, queueFromMs: 2_000 });
    if (process.env.RELAY_DEBUG) console.log('queue ms with / without', got.maxQueueMs, plain.maxQueueMs);
    // Without a ceiling ~0.5 BDP (21 ms); with it at most the 2 BDP window's one BDP of queue.
    expect(got.maxQueueMs).toBeLessThanOrEqual(1.1 * 40);
    expect(plain.maxQueueMs).toBeLessThanOrEqual(1.1 * 40);
    expect(rc.pacingRate()).toBeLessThanOrEqual(startupGainForTest * rc.btlBw + 1e-9);
  });

  it('setCeiling(undefined) (the pair went direct) behaves exactly like a controller never given one', () => {
    const a = new RateControl(seg);
    const b = new RateControl(seg);
    b.setCeiling(6_250);
    b.setCeiling(undefined);
    const ra = run(a, { rate: 12_500, rttMs: 40, ms: 2_000, windowMs: 40 });
    const rb = run(b, { rate: 12_500, rttMs: 40, ms: 2_000, windowMs: 40 });
    expect(rb).toEqual(ra);
    expect(b.ceiling).toBe(0);
  });

  it.each([
    ['no RTT sample yet: one round trip of 250 ms at the ceiling, not KCP\'s 32 segments', undefined, 6_250 * 250],
  ])('window: %s', (_why, _rtt, cwnd) => {
    const rc = new RateControl(seg);
    expect(rc.cwndBytes()).toBe(32 * seg);
    rc.setCeiling(6_250);
    expect(rc.cwndBytes()).toBe(cwnd);
    expect(rc.pacingRate()).toBe(6_250);
  });
});
