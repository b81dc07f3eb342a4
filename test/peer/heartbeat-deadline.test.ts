// The peer's answer to a slow hub (src/peer/hub-client.ts): how long it waits for HEARTBEAT_OK, and
// whether an unanswered heartbeat means "re-register" or "ask again". A fixed 4 s deadline made every
// peer of an overloaded hub re-handshake and re-register at once (docs/RELIABILITY.md "Hub load").
import { describe, expect, it } from 'vitest';
import {
  heartbeatDeadlineJitter, heartbeatDeadlineMs, heartbeatFirstDeadlineMs, heartbeatMaxDeadlineMs, heartbeatMissesWhileHeard, onHeartbeatDeadline,
} from '../../src/peer/heartbeat-policy.js';
import { refusalLogLevel, refusalRetryMs } from '../../src/peer/hub-refusal.js';
import { RefusalReason } from '../../src/wire/control.js';

describe('heartbeat deadline', () => {
  it.each([
    ['the first heartbeat waits the base deadline (a restarted hub is noticed within 4 s)', 0, 0, heartbeatFirstDeadlineMs],
    ['one miss doubles it', 1, 0, 2 * heartbeatFirstDeadlineMs],
    ['three misses: 32 s', 3, 0, 8 * heartbeatFirstDeadlineMs],
    ['it stops growing at the cap', 10, 0, heartbeatMaxDeadlineMs],
    ['jitter adds up to a quarter', 0, 0.999, Math.round(heartbeatFirstDeadlineMs * (1 + heartbeatDeadlineJitter * 0.999))],
    ['jitter on the cap', 10, 0.5, Math.round(heartbeatMaxDeadlineMs * (1 + heartbeatDeadlineJitter * 0.5))],
  ])('%s', (_why, misses, random, want) => {
    expect(heartbeatDeadlineMs(misses, random)).toBe(want);
  });

  it('spreads peers that missed at the same moment over a quarter of the deadline', () => {
    const at = Array.from({ length: 1000 }, (_, i) => heartbeatDeadlineMs(0, i / 1000));
    expect(Math.min(...at)).toBe(heartbeatFirstDeadlineMs);
    expect(Math.max(...at) - Math.min(...at)).toBeGreaterThan(0.24 * heartbeatFirstDeadlineMs);
  });

  it.each([
    ['the hub sent us something since: alive, only slow; ask again', true, 1, 'heartbeat-again'],
    ['still heard at the last allowed miss', true, heartbeatMissesWhileHeard, 'heartbeat-again'],
    ['heard, but unanswered too many times: register again', true, heartbeatMissesWhileHeard + 1, 'register-again'],
    ['nothing heard (a restarted hub cannot send on our session): register again', false, 1, 'register-again'],
  ] as const)('%s', (_why, heard, misses, want) => {
    expect(onHeartbeatDeadline(heard, misses)).toBe(want);
  });
});

describe('after a refusal (no zombie: H1)', () => {
  it.each([
    ['first retry after 1 s', 1, 0, 1_000],
    ['doubling', 4, 0, 8_000],
    ['capped at 60 s', 20, 0, 60_000],
    ['plus up to 25 % jitter', 20, 0.999, 74_985],
  ])('%s', (_why, refusals, random, want) => {
    expect(refusalRetryMs(refusals, random)).toBe(want);
  });
  it.each([
    ['an explicit name another key holds: wait for the operator', RefusalReason.NAME_TAKEN, false, 'warn'],
    ['an address another key holds: someone must act', RefusalReason.ADDRESS_IN_USE, false, 'error'],
    ['not in the allow-list', RefusalReason.KEY_NOT_ALLOWED, false, 'error'],
    ['no free numbered host name', RefusalReason.NAME_TAKEN, true, 'error'],
    ['a hub cut from its cluster: it passes', RefusalReason.UNAVAILABLE, false, 'warn'],
  ])('%s', (_why, reason, hint, want) => {
    expect(refusalLogLevel(reason, hint)).toBe(want);
  });
});
