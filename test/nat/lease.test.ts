// When a port mapping is requested, renewed or let go (nat/lease.ts): one row per case, why first.
import { describe, expect, it } from 'vitest';
import { nextLeaseStep, requestBackoffMs, type LeaseState } from '../../src/nat/lease.js';

const H = 3_600_000;
const lease = (grantedMs: number, lifetimeS = 7200) => ({ grantedMs, lifetimeS });

describe('nextLeaseStep', () => {
  it.each<[string, LeaseState, string, number]>([
    ['no mapping yet: ask now', { failures: 0 }, 'request', -Infinity],
    ['the first request failed: ask again in a minute', { failures: 1, lastFailureMs: 1_000 }, 'request', 61_000],
    ['three failures: wait 4 minutes', { failures: 3, lastFailureMs: 0 }, 'request', 240_000],
    ['many failures: at most 30 minutes apart', { failures: 20, lastFailureMs: 0 }, 'request', 1_800_000],
    ['a fresh 2 h lease: renew at half (1 h)', { failures: 0, lease: lease(0) }, 'renew', H],
    ['one failed renewal: retry when a quarter is left', { failures: 1, lease: lease(0) }, 'renew', 1.5 * H],
    ['two failed renewals: when an eighth is left', { failures: 2, lease: lease(0) }, 'renew', 1.75 * H],
    ['a 60 s lease (a stingy gateway): renew at 30 s', { failures: 0, lease: lease(10_000, 60) }, 'renew', 40_000],
    ['failed until under 2 s would be left: let it expire at its end', { failures: 12, lease: lease(0) }, 'expired', 2 * H],
  ])('%s', (_why, s, action, atMs) => {
    const step = nextLeaseStep(s);
    expect(step.action).toBe(action);
    expect(step.atMs).toBe(atMs);
  });

  it('the request backoff grows and is capped', () => {
    expect([1, 2, 3, 6, 7, 30].map(requestBackoffMs)).toEqual([60_000, 120_000, 240_000, 1_800_000, 1_800_000, 1_800_000]);
  });
});
