// Reliable control delivery and token buckets.
import { describe, expect, it } from 'vitest';
import { ReliableSender, SeqDedup, reliableMaxSends } from '../../src/link/reliable.js';
import { KeyedRateLimiter, LoadGauge } from '../../src/link/rate-limit.js';
import { TokenBucket } from '../../src/util/token-bucket.js';
import { ManualClock } from '../fakes/manual-clock.js';

describe('ReliableSender', () => {
  it('retransmits with doubling backoff until acked', () => {
    const clock = new ManualClock(0);
    const r = new ReliableSender(clock);
    const at: number[] = [];
    const seq = r.nextSeq();
    r.track(seq, () => at.push(clock.now()));
    clock.advance(3_600);
    expect(at).toEqual([0, 500, 1_500, 3_500]);
    expect(r.ack(seq)).toBe(true);
    clock.advance(60_000);
    expect(at.length).toBe(4);
    expect(r.ack(seq)).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('gives up after a bounded number of sends and says so', () => {
    const clock = new ManualClock(0);
    const r = new ReliableSender(clock);
    let sends = 0;
    let gaveUp = false;
    r.track(r.nextSeq(), () => sends++, () => (gaveUp = true));
    clock.advance(120_000);
    expect(sends).toBe(reliableMaxSends);
    expect(gaveUp).toBe(true);
    expect(r.inFlight).toBe(0);
  });

  it('never hands out seq 0, even across wrap', () => {
    const r = new ReliableSender(new ManualClock(0), 0xffffffff);
    expect([r.nextSeq(), r.nextSeq()]).toEqual([0xffffffff, 1]);
  });
});

describe('SeqDedup', () => {
  it('acks a retransmission without redoing it, within its memory', () => {
    const d = new SeqDedup(2);
    expect([d.first(1), d.first(1), d.first(2), d.first(3), d.first(1)]).toEqual([true, false, true, true, true]);
  });
});

describe('token buckets', () => {
  it.each([
    ['a full bucket admits its burst', 10, 0, 10, true],
    ['beyond the burst is refused', 11, 0, 10, false],
    ['refills at the rate (5/s for 1 s = 5 more)', 15, 1_000, 15, true],
  ])('%s', (_why, takes, laterMs, _n, lastOk) => {
    const b = new TokenBucket(5, 10, 0);
    let ok = true;
    for (let i = 0; i < takes; i++) ok = b.take(i < 10 ? 0 : laterMs);
    expect(ok).toBe(lastOk);
  });

  it('keeps one bucket per key', () => {
    const k = new KeyedRateLimiter(1, 1);
    expect([k.take('a', 0), k.take('a', 0), k.take('b', 0)]).toEqual([true, false, true]);
  });
});

describe('LoadGauge (under load for cookie replies)', () => {
  // 10 per second beyond a burst of 10, held 1 s. Each row: arrival times (ms), then what the last says.
  it.each([
    ['a burst of 10 at once is not load', Array(10).fill(0), false],
    ['the 11th at once is', Array(11).fill(0), true],
    ['10 per second sustained is not (the bucket refills as fast)', Array.from({ length: 50 }, (_, i) => i * 100), false],
    ['20 per second sustained is', Array.from({ length: 50 }, (_, i) => i * 50), true],
    ['load ends 1 s after the last excess: a lone arrival 1 s later is not load', [...Array(11).fill(0), 1_000], false],
    ['...but 999 ms later it still is', [...Array(11).fill(0), 999], true],
  ])('%s', (_why, arrivals, last) => {
    const g = new LoadGauge(10, 10, 1_000, 0);
    let under = false;
    for (const at of arrivals) under = g.note(at);
    expect(under).toBe(last);
    expect(g.underLoad(arrivals.at(-1)!)).toBe(last);
  });
});
