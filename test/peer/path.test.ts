// Path decisions as tables whose rows say why (tailscale's betterAddr table is the model).
import { describe, expect, it } from 'vitest';
import {
  betterPath, directPathDead, directRetryDelayMs, pingIntervalMs, type PathQuality,
} from '../../src/peer/path.js';

const q = (kind: PathQuality['kind'], rttMs: number): PathQuality => ({ kind, rttMs });

describe('betterPath', () => {
  it.each([
    ['anything beats having no path', undefined, q('relay', Infinity), true],
    ['direct beats relay, even when slower', q('relay', 20), q('direct', 80), true],
    ['LAN beats direct', q('direct', 5), q('lan', 10), true],
    ['LAN beats relay', q('relay', 30), q('lan', 1), true],
    ['relay never beats a direct path', q('direct', 300), q('relay', 10), false],
    ['direct does not replace LAN, however fast', q('lan', 50), q('direct', 1), false],
    ['same kind, much faster (under 80 %) wins', q('direct', 100), q('direct', 70), true],
    ['same kind, slightly faster does not flap', q('direct', 100), q('direct', 90), false],
    ['same kind, slower loses', q('lan', 2), q('lan', 3), false],
  ])('%s', (_why, current, candidate, want) => {
    expect(betterPath(current, candidate)).toBe(want);
  });
});

describe('directPathDead', () => {
  it.each([
    ['answered recently, nothing outstanding: alive', 9_000, undefined, 10_000, false],
    ['a ping unanswered for 2.9 s: still alive', 5_000, 7_100, 10_000, false],
    ['a ping unanswered for 3 s: dead, fall back to relay', 5_000, 7_000, 10_000, true],
    ['silent 30 s without any probe: not trusted', -20_000, undefined, 10_000, true],
    ['silent 29 s (idle keepalive every 10 s): alive', -19_000, undefined, 10_000, false],
  ])('%s', (_why, lastPongMs, oldestUnansweredMs, nowMs, want) => {
    expect(directPathDead({ lastPongMs, oldestUnansweredMs }, nowMs)).toBe(want);
  });
});

describe('probing cadence', () => {
  it.each([
    ['traffic 1 s ago: active, probe every second', 9_000, 10_000, 1_000],
    ['traffic 4.9 s ago: still active', 5_100, 10_000, 1_000],
    ['no traffic for 5 s: idle keepalive every 10 s', 5_000, 10_000, 10_000],
    ['never any traffic: idle', -Infinity, 10_000, 10_000],
  ])('%s', (_why, lastDataMs, nowMs, want) => {
    expect(pingIntervalMs(lastDataMs, nowMs)).toBe(want);
  });

  it.each([
    ['lowest draw: 30 s', 0, 30_000],
    ['middle draw: 45 s', 0.5, 45_000],
    ['highest draw stays under 60 s', 0.999999, 59_999],
  ])('retry direct while relayed: %s', (_why, r, want) => {
    expect(directRetryDelayMs(r)).toBe(want);
  });
});
