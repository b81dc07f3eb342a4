// The sliding replay window: a table of counter sequences and what each must yield.
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../src/crypto/replay.js';
import { REPLAY_WINDOW_SIZE, REPLAY_RING_WORDS } from '../../src/crypto/constants.js';

const W = REPLAY_WINDOW_SIZE;

describe('ReplayWindow', () => {
  it('is at least 2048 counters', () => {
    expect(W).toBeGreaterThanOrEqual(2048);
  });

  it.each([
    ['in order from zero', [0, 1, 2, 3], [true, true, true, true]],
    ['starts at a non-zero counter', [5, 0, 4], [true, true, true]],
    ['reordered within the window', [10, 8, 9, 7], [true, true, true, true]],
    ['exact duplicate', [1, 2, 2], [true, true, false]],
    ['duplicate of an old reordered one', [10, 3, 3], [true, true, false]],
    ['far past: exactly one window behind is refused', [W + 5, 5], [true, false]],
    ['just inside the window behind', [W + 5, 6], [true, true]],
    ['far future jump then its neighbours', [0, 1_000_000, 999_999, 1], [true, true, true, false]],
    ['jump beyond the ring clears stale bits (no false replay)', [0, 32 * REPLAY_RING_WORDS * 3, 32 * REPLAY_RING_WORDS * 3 - 1], [true, true, true]],
    ['wrap of the ring: a counter one ring later is a new counter', [3, 3 + 32 * REPLAY_RING_WORDS, 3 + 32 * REPLAY_RING_WORDS], [true, true, false]],
    ['negative and fractional counters', [-1, 1.5], [false, false]],
    ['above 2^53 is refused (not exact as a number)', [2 ** 53], [false]],
  ])('%s', (_why, seq, want) => {
    const w = new ReplayWindow();
    expect(seq.map((c) => w.accept(c))).toEqual(want);
  });

  it('check does not mark; update does', () => {
    const w = new ReplayWindow();
    expect(w.check(7)).toBe(true);
    expect(w.check(7)).toBe(true);
    expect(w.update(7)).toBe(true);
    expect(w.check(7)).toBe(false);
    expect(w.update(7)).toBe(false);
  });

  it('accepts bigint counters', () => {
    const w = new ReplayWindow();
    expect(w.accept(5n)).toBe(true);
    expect(w.accept(5n)).toBe(false);
    expect(w.accept(2n ** 64n - 1n)).toBe(false);
  });

  it('a long in-order run with every 7th packet delayed by 100 loses nothing', () => {
    const w = new ReplayWindow();
    const delayed: number[] = [];
    let ok = 0;
    for (let c = 0; c < 100_000; c++) {
      if (c % 7 === 0) delayed.push(c);
      else ok += w.accept(c) ? 1 : 0;
      if (delayed.length > 0 && delayed[0]! + 100 <= c) ok += w.accept(delayed.shift()!) ? 1 : 0;
    }
    for (const c of delayed) ok += w.accept(c) ? 1 : 0;
    expect(ok).toBe(100_000);
  });

  it('matches a naive set-based model on random sequences', () => {
    let s = 12345;
    const rand = (n: number) => {
      s = (s * 1103515245 + 12345) >>> 0;
      return s % n;
    };
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let hi = -1;
    for (let i = 0; i < 50_000; i++) {
      const c = Math.max(0, hi + rand(W * 2) - W * 1.5 + (rand(10) === 0 ? rand(W * 4) : 0)) | 0;
      const want = !seen.has(c) && (c > hi || hi - c < W);
      expect(w.accept(c), `counter ${c} hi ${hi}`).toBe(want);
      if (want) {
        seen.add(c);
        hi = Math.max(hi, c);
      }
    }
  });
});
