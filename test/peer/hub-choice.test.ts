// The pure decisions of a peer with several hubs (peer/hub-choice.ts): home and standby by RTT with
// hysteresis, when home is lost, what a standby needs, the retry backoff.
import { describe, expect, it } from 'vitest';
import {
  chooseHubs, dwellDone, floorRtt, pushRtt, rttWindow, switchDwellMs, homeDeadMs, homeLost, muchFaster, retryDelayMs, retryFirstMs, retryJitter, retryMaxMs, smoothRtt, standbyAction, standbyDeadMs, standbyRehandshakeMs,
  type HubCandidate,
} from '../../src/peer/hub-choice.js';

const up = (index: number, rttMs?: number): HubCandidate => ({ index, up: true, rttMs });
const down = (index: number, rttMs?: number): HubCandidate => ({ index, up: false, rttMs });

describe('home and standby', () => {
  it.each([
    ['at start the fastest answering hub is home, the next standby', [up(0, 40), up(1, 10), up(2, 25)], undefined, { home: 1, standby: 2, reason: 'first' }],
    ['equal RTTs: the hub listed first', [up(0, 20), up(1, 20)], undefined, { home: 0, standby: 1, reason: 'first' }],
    ['a hub that never answered is neither', [down(0), up(1, 30)], undefined, { home: 1, standby: undefined, reason: 'first' }],
    ['nobody answers: no home yet', [down(0), down(1)], undefined, { home: undefined, standby: undefined, reason: 'first' }],
    ['a working home stays although another is a little faster (no flapping)', [up(0, 30), up(1, 20)], 0, { home: 0, standby: 1, reason: 'stay' }],
    ['a working home stays at exactly twice plus the margin', [up(0, 60), up(1, 20)], 0, { home: 0, standby: 1, reason: 'stay' }],
    ['a working home much slower than another is left', [up(0, 150), up(1, 40)], 0, { home: 1, standby: 0, reason: 'much-faster' }],
    ['a lost home goes to the fastest answering one', [down(0, 10), up(1, 50), up(2, 30)], 0, { home: 2, standby: 1, reason: 'home-lost' }],
    ['a lost home with nobody else answering: none', [down(0, 10), down(1, 50)], 0, { home: undefined, standby: undefined, reason: 'home-lost' }],
    ['a home without an RTT yet stays', [up(0), up(1, 5)], 0, { home: 0, standby: 1, reason: 'stay' }],
  ] as const)('%s', (_why, cands, home, want) => {
    expect(chooseHubs(cands, home)).toEqual(want);
  });

  const d = (nowMs: number, faster?: { index: number; sinceMs: number }) => ({ nowMs, faster });
  it.each([
    ['much faster for the first time: home stays, the faster hub is standby, the dwell starts', [up(0, 150), up(1, 40)], 0, d(1_000),
      { home: 0, standby: 1, reason: 'stay', faster: { index: 1, sinceMs: 1_000 } }],
    ['still much faster, the dwell not over', [up(0, 150), up(1, 40)], 0, d(1_000 + switchDwellMs - 1, { index: 1, sinceMs: 1_000 }),
      { home: 0, standby: 1, reason: 'stay', faster: { index: 1, sinceMs: 1_000 } }],
    ['much faster for the whole dwell: home moves', [up(0, 150), up(1, 40)], 0, d(1_000 + switchDwellMs, { index: 1, sinceMs: 1_000 }),
      { home: 1, standby: 0, reason: 'much-faster', faster: { index: 1, sinceMs: 1_000 } }],
    ['another hub became the much faster one: its dwell starts anew', [up(0, 150), up(1, 60), up(2, 20)], 0, d(20_000, { index: 1, sinceMs: 1_000 }),
      { home: 0, standby: 2, reason: 'stay', faster: { index: 2, sinceMs: 20_000 } }],
    ['no longer much faster: the dwell is forgotten', [up(0, 50), up(1, 40)], 0, d(20_000, { index: 1, sinceMs: 1_000 }),
      { home: 0, standby: 1, reason: 'stay', faster: undefined }],
    ['home lost: no dwell, the fastest answering hub at once', [down(0, 10), up(1, 50)], 0, d(20_000, { index: 1, sinceMs: 19_000 }),
      { home: 1, standby: undefined, reason: 'home-lost', faster: undefined }],
  ] as const)('with the dwell: %s', (_why, cands, home, dwell, want) => {
    expect(chooseHubs(cands, home, dwell)).toEqual(want);
  });

  it.each([
    ['unknown RTTs never move home', undefined, 5, false],
    ['30 ms against 20 ms: close enough', 30, 20, false],
    ['150 ms against 40 ms: much faster', 150, 40, true],
    ['near hubs: 23 ms against 2 ms stays (the margin)', 23, 2, false],
  ] as const)('much faster: %s', (_why, home, other, want) => {
    expect(muchFaster(home, other)).toBe(want);
  });
});

describe('liveness', () => {
  it.each([
    ['heard a second ago', 10_000, 9_000, 0, false],
    ['silent just past the deadline: lost', 10_000, 10_000 - homeDeadMs - 1, 0, true],
    ['silent exactly the deadline: not yet', 10_000, 10_000 - homeDeadMs, 0, false],
    ['a fresh home is given the whole window from when it became home', 10_000, -Infinity, 8_000, false],
    ['a fresh home that never answered is lost after the window', 12_000, -Infinity, 8_000, true],
  ])('home: %s', (_why, now, heard, since, want) => {
    expect(homeLost(now, heard, since)).toBe(want);
  });

  it.each([
    ['answered recently', 20_000, 18_000, 0, 'ok'],
    ['quiet past the rehandshake time (the hub forgot a session that never registered)', 20_000, 20_000 - standbyRehandshakeMs - 1, 0, 'rehandshake'],
    ['a new handshake under way: wait for it', 20_000, 0, 19_000, 'ok'],
    ['no answer since a new handshake: down', 20_000, 0, 20_000 - standbyDeadMs - 1, 'down'],
    ['a hub tried for the first time that never answers: down', 10_000, -Infinity, 10_000 - standbyDeadMs - 1, 'down'],
  ] as const)('standby: %s', (_why, now, heard, handshake, want) => {
    expect(standbyAction(now, heard, handshake)).toBe(want);
  });

  it('smooths RTT samples with a quarter weight', () => {
    expect(smoothRtt(undefined, 40)).toBe(40);
    expect(smoothRtt(40, 80)).toBe(50);
  });
});

describe('retry backoff', () => {
  it.each([
    ['first failure: 1 s', 1, 0, retryFirstMs],
    ['doubles', 3, 0, 4 * retryFirstMs],
    ['capped at 60 s', 10, 0, retryMaxMs],
    ['jitter adds up to a quarter', 1, 0.999, Math.round(retryFirstMs * (1 + retryJitter * 0.999))],
  ])('%s', (_why, failures, random, want) => {
    expect(retryDelayMs(failures, random)).toBe(want);
  });
});

describe('the RTT the choice reads, and the dwell before a much-faster move', () => {
  it('keeps the last samples and reads their minimum: a spike on home is not a slow hub', () => {
    let w: number[] = [];
    for (const x of [30, 31, 140, 29, 150, 160]) w = pushRtt(w, x);
    expect(w).toHaveLength(rttWindow);
    expect(floorRtt(w)).toBe(29);
    expect(floorRtt([])).toBeUndefined();
    // Sustained: the floor follows once every sample in the window is slow.
    for (let i = 0; i < rttWindow; i++) w = pushRtt(w, 150);
    expect(floorRtt(w)).toBe(150);
  });
  it.each([
    ['never seen faster', undefined, 100_000, false],
    ['just seen', 50_000, 50_000, false],
    ['not long enough', 50_000, 50_000 + switchDwellMs - 1, false],
    ['long enough', 50_000, 50_000 + switchDwellMs, true],
  ])('dwell: %s', (_n, since, now, want) => {
    expect(dwellDone(since as number | undefined, now as number)).toBe(want);
  });
});
