// The lane's backlog rule (src/peer/kcp-queue.ts): one BDP of unsent packets, within bounds.
import { describe, expect, it } from 'vitest';
import { laneAdmits, maxQueueSegments, minQueueSegments, queueLimitSegments } from '../../src/peer/kcp-queue.js';

describe('queueLimitSegments', () => {
  it.each([
    ['no estimate yet', 0, minQueueSegments],
    ['NaN', Number.NaN, minQueueSegments],
    ['a small BDP (40 ms, 20 Mbit/s)', 75, minQueueSegments],
    ['one BDP above the floor (200 ms, 100 Mbit/s)', 1840.2, 1841],
    ['capped (1 s, 1 Gbit/s)', 92_000, maxQueueSegments],
  ])('%s: %d -> %d', (_what, bdp, limit) => {
    expect(queueLimitSegments(bdp)).toBe(limit);
  });
});

describe('laneAdmits', () => {
  it.each([
    [0, 0, true],
    [minQueueSegments - 1, 0, true],
    [minQueueSegments, 0, false],
    [2047, 2500, true],
    [2500, 2500, false],
    [maxQueueSegments, 100_000, false],
  ])('unsent %d with a BDP of %d segments -> %s', (unsent, bdp, ok) => {
    expect(laneAdmits(unsent, bdp)).toBe(ok);
  });
});
