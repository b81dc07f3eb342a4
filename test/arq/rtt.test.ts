// Tables for the RTT estimator, RTO clamps and per-nodelay retransmission backoff (docs/ARQ.md; ikcp.c),
// and for the u32 wrap-around helpers in seq.ts.
import { describe, expect, it } from 'vitest';
import { firstSendSlackMs, rtoBackoff, rttUpdate, type RttState } from '../../src/arq/rtt.js';
import { seqAdd, seqDiff, seqLt, seqLte, toU32Ms } from '../../src/arq/seq.js';

describe('rttUpdate', () => {
  it.each([
    // why, state before, sample, interval, minrto, state after
    ['first sample: srtt = rtt, rttval = rtt/2, rto = srtt + max(interval, 4 rttval)', [0, 0, 200], 100, 10, 100, [100, 50, 300]],
    ['first sample odd rtt truncates rttval', [0, 0, 200], 51, 10, 30, [51, 25, 151]],
    ['interval dominates a small variance', [0, 0, 200], 40, 100, 30, [40, 20, 140]],
    ['minrto clamps a fast path (normal mode floor 100)', [0, 0, 200], 10, 10, 100, [10, 5, 100]],
    ['nodelay floor 30', [0, 0, 200], 10, 10, 30, [10, 5, 30]],
    ['later sample: rttval = (3 rttval + |d|)/4, srtt = (7 srtt + rtt)/8', [100, 50, 300], 180, 10, 30, [110, 57, 338]],
    ['identical samples shrink the variance', [100, 40, 260], 100, 10, 30, [100, 30, 220]],
    ['srtt never drops below 1', [1, 0, 30], 0, 10, 30, [1, 0, 30]],
    ['rto capped at 60 s', [0, 0, 200], 50_000, 10, 30, [50_000, 25_000, 60_000]],
    ['a zero first sample leaves srtt 0, so the next counts as first', [0, 0, 200], 0, 10, 30, [0, 0, 30]],
  ] as const)('%s', (_why, [s, v, r], rtt, interval, minrto, [s2, v2, r2]) => {
    const st: RttState = { rxSrtt: s, rxRttval: v, rxRto: r };
    rttUpdate(st, rtt, interval, minrto);
    expect(st).toEqual({ rxSrtt: s2, rxRttval: v2, rxRto: r2 });
  });
});

describe('rtoBackoff per nodelay mode', () => {
  it.each([
    ['nodelay 0 doubles when seg rto = rx_rto', 0, 200, 200, 400],
    ['nodelay 0 adds rx_rto when larger than the segment rto', 0, 100, 300, 400],
    ['nodelay 0 keeps doubling a grown rto', 0, 800, 200, 1600],
    ['nodelay 1 grows by half the segment rto', 1, 200, 200, 300],
    ['nodelay 1 compounds x1.5', 1, 300, 200, 450],
    ['nodelay 1 truncates', 1, 31, 200, 46],
    ['nodelay 2 grows linearly by half of rx_rto', 2, 300, 200, 400],
    ['nodelay 2 ignores the segment rto size', 2, 5000, 60, 5030],
  ])('%s', (_why, nodelay, segRto, rxRto, next) => {
    expect(rtoBackoff(segRto, rxRto, nodelay)).toBe(next);
  });

  it.each([
    ['successive timeouts, nodelay 0', 0, [200, 400, 800, 1600, 3200]],
    ['successive timeouts, nodelay 1', 1, [200, 300, 450, 675, 1012]],
    ['successive timeouts, nodelay 2', 2, [200, 300, 400, 500, 600]],
  ])('%s', (_why, nodelay, seq) => {
    let rto = seq[0]!;
    for (const want of seq.slice(1)) {
      rto = rtoBackoff(rto, 200, nodelay);
      expect(rto).toBe(want);
    }
  });

  it.each([
    ['normal mode waits rx_rto/8 more before the first resend', 0, 200, 25],
    ['nodelay 1 adds nothing', 1, 200, 0],
    ['nodelay 2 adds nothing', 2, 200, 0],
  ])('%s', (_why, nodelay, rxRto, slack) => {
    expect(firstSendSlackMs(rxRto, nodelay)).toBe(slack);
  });
});

describe('u32 sequence arithmetic', () => {
  it.each([
    ['plain order', 5, 3, 2],
    ['reverse order', 3, 5, -2],
    ['across the wrap: 1 is after 0xffffffff', 1, 0xffffffff, 2],
    ['across the wrap backwards', 0xfffffffe, 2, -4],
    ['half range is the limit', 0x80000000, 0, -0x80000000],
  ])('seqDiff %s', (_why, a, b, d) => {
    expect(seqDiff(a, b)).toBe(d);
  });

  it.each([
    [0xffffffff, 1, 0],
    [0xfffffff0, 0x20, 0x10],
    [7, 1, 8],
  ])('seqAdd(%d, %d) = %d', (a, n, r) => {
    expect(seqAdd(a, n)).toBe(r);
  });

  it('seqLt/seqLte across the wrap', () => {
    expect(seqLt(0xffffffff, 0)).toBe(true);
    expect(seqLt(0, 0xffffffff)).toBe(false);
    expect(seqLte(5, 5)).toBe(true);
  });

  it.each([
    [1000.9, 1000],
    [2 ** 32 + 5, 5],
    [0, 0],
  ])('toU32Ms(%d) = %d', (ms, u) => {
    expect(toU32Ms(ms)).toBe(u);
  });
});
