// peer/memory-trim.ts: malloc_trim when the RSS grew past the floor, on the injected clock; the
// floor follows the RSS after each trim and any lower reading; no trim in the build stops the timer.
import { describe, expect, it } from 'vitest';
import { MemoryTrimmer, trimCheckMs, trimDue, trimGrowthBytes } from '../../src/peer/memory-trim.js';
import { ManualClock } from '../fakes/manual-clock.js';

const MiB = 1048576;

describe('trimDue', () => {
  it.each([
    [100 * MiB, 100 * MiB, false, 'no growth'],
    [100 * MiB + trimGrowthBytes - 1, 100 * MiB, false, 'just under the growth worth a trim'],
    [100 * MiB + trimGrowthBytes, 100 * MiB, true, 'grown by the threshold'],
    [90 * MiB, 100 * MiB, false, 'below the floor (it fell by itself)'],
  ])('rss %i over floor %i: %s (%s)', (rss, floor, want) => {
    expect(trimDue(rss, floor)).toBe(want);
  });
});

describe('MemoryTrimmer', () => {
  /** A process whose RSS the test sets; a trim gives back `freed` bytes of it. */
  function rig(freed: number, hasTrim = true) {
    const clock = new ManualClock();
    const p = { rss: 80 * MiB, trims: 0 };
    const t = new MemoryTrimmer({
      clock,
      rss: () => p.rss,
      trim: () => {
        if (!hasTrim) return undefined;
        p.trims++;
        p.rss -= freed;
        return freed > 0;
      },
    });
    return { clock, p, t };
  }

  it('the first check trims whatever the growth: what start-up freed goes back', () => {
    const { clock, p, t } = rig(10 * MiB);
    clock.advance(trimCheckMs);
    expect(p.trims).toBe(1); // no growth since start, a trim all the same
    expect(t.stats).toMatchObject({ checks: 1, trims: 1, freedBytes: 10 * MiB });
    expect(p.rss).toBe(70 * MiB);
    clock.advance(trimCheckMs);
    expect(p.trims).toBe(1); // and from then on only on growth
  });

  it('trims once the RSS grew past the floor, then measures from the RSS after the trim', () => {
    const { clock, p, t } = rig(10 * MiB);
    clock.advance(trimCheckMs); // the start-up trim: 80 -> 70 MiB, the floor
    p.rss = 70 * MiB + trimGrowthBytes - 1;
    clock.advance(trimCheckMs);
    expect(p.trims).toBe(1); // not grown enough
    p.rss = 100 * MiB; // load: the heap grew
    clock.advance(trimCheckMs);
    expect(p.trims).toBe(2);
    expect(t.stats).toMatchObject({ trims: 2, freedBytes: 20 * MiB });
    p.rss = 92 * MiB; // 2 MiB over the 90 MiB left after the trim: not yet
    clock.advance(trimCheckMs);
    expect(p.trims).toBe(2);
    p.rss = 95 * MiB;
    clock.advance(trimCheckMs);
    expect(p.trims).toBe(3);
    expect(t.stats.checks).toBe(5);
  });

  it('the floor follows the RSS down: growth counts from the lowest reading', () => {
    const { clock, p } = rig(0);
    p.rss = 60 * MiB; // the start-up heap (scrypt) went back by itself
    clock.advance(trimCheckMs);
    expect(p.trims).toBe(1); // the start-up trim
    p.rss = 60 * MiB + trimGrowthBytes;
    clock.advance(trimCheckMs);
    expect(p.trims).toBe(2);
  });

  it('without malloc_trim in the build it stops checking', () => {
    const { clock, p, t } = rig(0, false);
    p.rss = 200 * MiB;
    clock.advance(trimCheckMs);
    clock.advance(10 * trimCheckMs);
    expect(t.stats).toMatchObject({ checks: 1, trims: 0 });
  });

  it('stop() ends the checks', () => {
    const { clock, t } = rig(0);
    t.stop();
    clock.advance(10 * trimCheckMs);
    expect(t.stats.checks).toBe(0);
  });
});
