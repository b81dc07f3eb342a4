// hub/presence-grace.ts: a hub judges other hubs dead only from a sound view of its own.
import { describe, expect, it } from 'vitest';
import { hubAlive, viewSound, type PresenceView } from '../../src/hub/presence-grace.js';

const base: PresenceView = { connected: true, lastAckMs: 10_000, lastFailMs: -Infinity, lastOwnSeenMs: 10_000, refreshMs: 3_000 };

describe('viewSound', () => {
  it.each([
    ['writes acknowledged and seen back just now', base, 10_500, true],
    ['one refresh late: normal', base, 15_900, true],
    ['writes unacknowledged for more than two refreshes (a request hanging on a leaderless stream)', base, 16_100, false],
    ['the last write failed (503 while a node rejoins)', { ...base, lastFailMs: 10_200 }, 10_300, false],
    ['a failure, then an acknowledged write: sound again', { ...base, lastFailMs: 9_000 }, 10_300, true],
    ['writes acknowledged but the watch stopped delivering our own entry', { ...base, lastAckMs: 16_000, lastOwnSeenMs: 9_000 }, 16_100, false],
    ['the NATS connection is down', { ...base, connected: false }, 10_100, false],
  ])('%s -> %s', (_why, v, now, want) => {
    expect(viewSound(v, now)).toBe(want);
  });
});

describe('hubAlive', () => {
  it.each([
    ['heard within the TTL', 20_000, 10_000, -Infinity, true],
    ['silent past the TTL while our view was sound: dead', 26_000, 10_000, -Infinity, false],
    ['silent past the TTL, but our own view was unsound until 5 s ago: a full TTL from then', 26_000, 10_000, 21_000, true],
    ['silent for a full TTL after our view became sound again: dead', 37_000, 10_000, 21_000, false],
  ])('%s', (_why, now, lastSeen, graceFrom, want) => {
    expect(hubAlive(now, lastSeen, graceFrom, 15_000)).toBe(want);
  });
});
