// fec/loss-estimator.ts: loss and burst from sequence gaps, reordering forgiven, windows and EWMA.
import { describe, expect, it } from 'vitest';
import { LossEstimator, pathLossOf, reorderSpan, reportOf } from '../../src/fec/loss-estimator.js';
import { decodeFecFrame, encodeFecFrame, FecOp } from '../../src/fec/frame.js';
import { Rng } from '../fakes/rng.js';

/** Feeds sequences start..start+n-1 minus those `lose` says, at 1 ms apart; returns the estimator. */
function feed(n: number, lose: (s: number) => boolean, e = new LossEstimator(100, 1e9, 1), start = 0): LossEstimator {
  for (let s = start; s < start + n; s++) if (!lose(s)) e.observe(s, s);
  return e;
}

describe('LossEstimator', () => {
  it.each([
    ['no loss', () => false, 0, 1],
    ['every 10th packet: 10 %, isolated', (s: number) => s % 10 === 5, 0.1, 1],
    ['pairs every 20: 10 %, runs of 2', (s: number) => s % 20 === 3 || s % 20 === 4, 0.1, 2],
    ['runs of 5 every 50: 10 %, runs of 5', (s: number) => s % 50 >= 10 && s % 50 < 15, 0.1, 5],
  ])('%s', (_why, lose, loss, burst) => {
    const e = feed(100 + reorderSpan + 20, lose).estimate; // 20 more: the last sequence may be a lost one
    expect(e.windows).toBe(1);
    expect(e.loss).toBeCloseTo(loss, 2); // a window closes on the jump that passes 100 judged
    expect(e.burst).toBeCloseTo(burst, 5);
  });

  it('a packet late by less than the reorder span is not a loss', () => {
    const e = new LossEstimator(100, 1e9, 1);
    for (let s = 0; s < 100 + reorderSpan + 20; s++) {
      if (s % 10 === 3) continue;
      e.observe(s, s);
      if (s % 10 === 9) e.observe(s - 6, s); // the one skipped above, 6 packets late
    }
    expect(e.estimate).toMatchObject({ loss: 0, windows: 1 });
  });

  it('nothing before the first sequence counts, wherever the counter starts', () => {
    expect(feed(100 + reorderSpan, () => false, undefined, 1_000_000).estimate).toMatchObject({ loss: 0, windows: 1 });
  });

  it('a long outage (a jump far past the span) is one run of all the missing packets', () => {
    const e = new LossEstimator(1000, 1e9, 1);
    for (let s = 0; s < 100; s++) e.observe(s, 0);
    for (let s = 400; s < 1100 + reorderSpan; s++) e.observe(s, 0);
    expect(e.estimate.loss).toBeCloseTo(300 / 1000, 5);
    expect(e.estimate.burst).toBe(300);
  });

  it('a slow flow still gets an estimate when the window times out', () => {
    const e = new LossEstimator(500, 2000, 1);
    for (let s = 0; s < 90; s++) if (s % 10 !== 0 || s === 0) e.observe(s, s * 25);
    expect(e.estimate.windows).toBe(1);
    expect(e.estimate.loss).toBeGreaterThan(0);
  });

  it('the EWMA moves a quarter of the way per window', () => {
    const e = new LossEstimator(100, 1e9, 0.25);
    feed(100 + reorderSpan, (s) => s % 10 === 5 && s < 100, e); // first window: 10 %
    feed(100, () => false, e, 100 + reorderSpan); // second: 0 %
    expect(e.estimate.windows).toBe(2);
    expect(e.estimate.loss).toBeCloseTo(0.075, 5);
    expect(e.estimate.burst).toBeCloseTo(1, 5);
  });

  it('seeded random 5 % loss with reordering reads close to 5 %', () => {
    const rng = new Rng(5);
    const e = new LossEstimator(500, 1e9, 0.25);
    const arrivals: number[] = [];
    for (let s = 0; s < 50_000; s++) if (!rng.chance(0.05)) arrivals.push(s);
    for (let i = 0; i + 1 < arrivals.length; i++) {
      if (rng.chance(0.05)) [arrivals[i], arrivals[i + 1]] = [arrivals[i + 1]!, arrivals[i]!];
    }
    for (const s of arrivals) e.observe(s, 0);
    expect(e.estimate.loss).toBeGreaterThan(0.04);
    expect(e.estimate.loss).toBeLessThan(0.06);
    expect(e.estimate.burst).toBeLessThan(1.1); // isolated: 1 / (1 - p)
  });

  it.each([
    ['5 % in runs of 1.5 round-trips through a REPORT', { loss: 0.05, burst: 1.5, windows: 3 }, 500, { loss: 3277 / 65536, burst: 1.5 }],
    ['no loss reads as no loss, runs of 1', { loss: 0, burst: 1, windows: 1 }, 500, { loss: 0, burst: 1 }],
    ['an outage saturates instead of wrapping', { loss: 1, burst: 1000, windows: 1 }, 1e6, { loss: 65535 / 65536, burst: 65535 / 256 }],
  ])('REPORT: %s', (_why, est, window, want) => {
    const f = decodeFecFrame(encodeFecFrame(reportOf(est, window)));
    expect(f.op).toBe(FecOp.REPORT);
    if (f.op !== FecOp.REPORT) return;
    expect(f.window).toBe(Math.min(window, 0xffff));
    expect(pathLossOf(f)).toEqual(want);
  });
});
