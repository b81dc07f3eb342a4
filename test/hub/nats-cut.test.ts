// A hub cut from NATS, or whose feed lags, keeps its last view instead of judging every other hub
// dead (hub/nats-state.ts; both found by test/e2e/cluster-mesh.test.ts): the client PING interval
// makes a silent cut read as 'reconnecting' within one presence TTL (nft drop: 'connected' after
// 30 s before), and no hub expires while this hub's own presence is not heard back (a stalled
// presence watch expired the other hub's members 6 s into a cut, before the cut was noticed).
import { describe, expect, it } from 'vitest';
import { defaultPresenceTtlMs, feedCurrent, natsMaxPingOut, natsPingIntervalMs } from '../../src/hub/nats-state.js';

describe('natsPingIntervalMs', () => {
  it.each([
    ['the default TTL: a cut noticed within ~6.4 s of 15', defaultPresenceTtlMs, 2_142],
    ['a long TTL: pings as rare as the TTL allows', 70_000, 10_000],
    ['a test TTL of 1.5 s: floored at 500 ms', 1_500, 500],
  ])('%s', (_why, ttl, want) => {
    expect(natsPingIntervalMs(ttl)).toBe(want);
  });
  it.each([[15_000], [5_000], [60_000]])('notices a cut (maxPingOut + 1 PINGs) within half of a %d ms TTL', (ttl) => {
    expect(natsPingIntervalMs(ttl) * (natsMaxPingOut + 1)).toBeLessThanOrEqual(ttl / 2);
  });
});

describe('feedCurrent', () => {
  it.each([
    ['own presence heard one refresh ago: judge the others', 10_000, 7_000, 3_000, true],
    ['heard exactly three refreshes ago (a loaded machine): still current', 10_000, 1_000, 3_000, true],
    ['unheard for more than three refreshes: the feed is behind, nobody expires', 10_000, 999, 3_000, false],
    ['unheard since the start (a watch stalled at once)', 60_000, 0, 3_000, false],
  ])('%s', (_why, now, heard, refresh, want) => {
    expect(feedCurrent(now, heard, refresh)).toBe(want);
  });
});
