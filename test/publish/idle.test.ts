// The idle-timeout decision for visitor connections, and the summary tally that replaces
// per-connection log lines.
import { describe, expect, it } from 'vitest';
import { ConnTally, reasonKind } from '../../src/publish/conn-summary.js';
import { idleSweepMs, isIdle } from '../../src/publish/idle.js';

describe('isIdle', () => {
  it.each<[string, number, number, number, boolean]>([
    ['fresh', 1_000, 0, 300_000, false],
    ['just under the timeout', 299_999, 0, 300_000, false],
    ['at the timeout', 300_000, 0, 300_000, true],
    ['timeout 0 means never', 10_000_000, 0, 0, false],
  ])('%s', (_why, now, last, idleMs, want) => {
    expect(isIdle(now, last, idleMs)).toBe(want);
  });
  it.each([
    [300_000, 30_000],
    [5_000, 1_000],
    [60_000, 6_000],
  ])('sweeps a %i ms timeout every %i ms', (idle, sweep) => {
    expect(idleSweepMs(idle)).toBe(sweep);
  });
});

describe('ConnTally', () => {
  it('counts and empties on take; groups reasons without addresses', () => {
    const t = new ConnTally();
    expect(t.empty).toBe(true);
    t.opened += 3;
    t.refuse('ip-full');
    t.refuse('ip-full');
    t.closeWith(undefined);
    t.closeWith('visitor 203.0.113.9:40000 closed the connection');
    t.closeWith('visitor 203.0.113.10:40001 closed the connection');
    expect(t.take()).toEqual({ opened: 3, closed: 3, errors: 2, refused: { 'ip-full': 2 }, reasons: { 'visitor closed the connection': 2 } });
    expect(t.empty).toBe(true);
  });
  it('keeps at most 8 reason kinds', () => {
    const t = new ConnTally();
    for (let i = 0; i < 20; i++) t.closeWith(`reason ${String.fromCharCode(97 + i)}`);
    expect(Object.keys(t.reasons)).toHaveLength(9);
    expect(t.reasons.other).toBe(12);
  });
  it.each([
    ['idle for 301 s', 'idle for N s'],
    ['target 127.0.0.1:80: ECONNREFUSED', 'target : ECONNREFUSED'],
  ])('reasonKind(%s)', (r, want) => {
    expect(reasonKind(r)).toBe(want);
  });
});
