// The NATS client's PING interval (hub/nats-state.ts natsPingIntervalMs): a silent cut from NATS must
// read as 'reconnecting' within one presence TTL, so the hub keeps its last view instead of judging
// every other hub dead (found by test/e2e/cluster-mesh.test.ts: nft drop, 'connected' after 30 s).
import { describe, expect, it } from 'vitest';
import { defaultPresenceTtlMs, natsMaxPingOut, natsPingIntervalMs } from '../../src/hub/nats-state.js';

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
