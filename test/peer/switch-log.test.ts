// peer/switch-log.ts: the rate limit of the per-pair "data channel" log line.
import { describe, expect, it } from 'vitest';
import { SwitchLog, switchLogBurst, switchLogWindowMs } from '../../src/peer/switch-log.js';

describe('SwitchLog', () => {
  it('logs a burst, holds back a flapping pair and counts what it held back', () => {
    const log = new SwitchLog<object>();
    const a = {};
    const got: (number | undefined)[] = [];
    for (let i = 0; i < 10; i++) got.push(log.note(a, i * 100));
    expect(got.slice(0, switchLogBurst)).toEqual(Array(switchLogBurst).fill(0));
    expect(got.slice(switchLogBurst).every((x) => x === undefined)).toBe(true);
    // Once the window has passed, the next line says how many changes went unlogged.
    expect(log.note(a, switchLogWindowMs + 1)).toBe(10 - switchLogBurst);
    expect(log.note(a, 2 * switchLogWindowMs)).toBe(0);
  });

  it('keeps pairs apart', () => {
    const log = new SwitchLog<object>();
    const a = {};
    const b = {};
    for (let i = 0; i < switchLogBurst; i++) log.note(a, 0);
    expect(log.note(a, 1)).toBeUndefined();
    expect(log.note(b, 1)).toBe(0);
  });

  it('a real change every few seconds is always logged', () => {
    const log = new SwitchLog<object>();
    const a = {};
    for (let t = 0; t < 120_000; t += 4_000) expect(log.note(a, t)).toBe(0);
  });
});
