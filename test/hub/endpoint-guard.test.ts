import { describe, expect, it } from 'vitest';
import { amplificationFactor, challengeBytes, challengeRetryMs, EndpointGuard, sendAllowed } from '../../src/hub/endpoint-guard.js';

describe('sendAllowed', () => {
  it.each([
    ['a proven endpoint gets anything', true, 0, 10_000, 1_000, true],
    ['unproven: up to 3x what came from it', false, 100, 200, 100, true],
    ['unproven: not one byte past 3x', false, 100, 200, 101, false],
    ['unproven and nothing received: nothing', false, 0, 0, 1, false],
    ['a 1,100-byte map part needs ~367 bytes received first', false, 366, 0, 1_100, false],
  ] as const)('%s', (_why, proven, rx, tx, bytes, want) => {
    expect(sendAllowed(proven, rx, tx, bytes)).toBe(want);
  });
  it('is QUIC\'s factor', () => expect(amplificationFactor).toBe(3));
});

const A = { address: '198.51.100.10', port: 51820 };
const V = { address: '192.0.2.99', port: 53 };

describe('EndpointGuard', () => {
  it('challenges a new endpoint once per retry interval, within its budget', () => {
    let n = 0n;
    const g = new EndpointGuard(() => ++n);
    expect(g.received('m', A, 40, 0)).toBe(1n);
    expect(g.received('m', A, 40, 500)).toBeUndefined();
    expect(g.received('m', A, 40, challengeRetryMs)).toBe(1n); // the same txid again: a late echo still counts
    expect(g.retry('m', challengeRetryMs + 10)).toBeUndefined();
    expect(g.retry('m', 2 * challengeRetryMs)).toBe(1n);
    expect(g.received('m', V, 40, 2 * challengeRetryMs)).toBe(2n); // a new endpoint, a new txid
    // a 1-byte message cannot buy a 10-byte challenge
    expect(g.received('x', A, 1, 0)).toBeUndefined();
  });

  it('limits an unproven endpoint to 3x, lifts the limit on the right echo only, and keeps proven endpoints', () => {
    const g = new EndpointGuard(() => 7n);
    const txid = g.received('m', A, 100, 0)!;
    g.allow('m', A, challengeBytes);
    expect(g.allow('m', A, 290)).toBe(true);
    expect(g.allow('m', A, 1)).toBe(false);
    expect(g.allow('m', V, 1)).toBe(false); // the link moved (a keepalive) where the guard heard nothing
    expect(g.answered('m', V, txid)).toBe(false); // from elsewhere
    expect(g.answered('m', A, txid + 1n)).toBe(false); // a guessed txid
    expect(g.answered('m', A, txid)).toBe(true);
    expect(g.answered('m', A, txid)).toBe(false); // once
    expect(g.allow('m', A, 100_000)).toBe(true);
    // The member's source moves to V (forged): limited there, and back at A it is proven at once.
    g.received('m', V, 50, 2_000);
    expect(g.allow('m', V, 150)).toBe(true);
    expect(g.allow('m', V, 1_100)).toBe(false);
    expect(g.received('m', A, 50, 2_100)).toBeUndefined();
    expect(g.allow('m', A, 100_000)).toBe(true);
    expect(g.counters).toMatchObject({ validated: 1, blocked: 3 });
  });

  it('takes the endpoint a handshake proved as proven without a challenge', () => {
    const g = new EndpointGuard(() => 1n);
    expect(g.received('m', A, 40, 0, A)).toBeUndefined();
    expect(g.allow('m', A, 100_000)).toBe(true);
    expect(g.received('m', V, 40, 10, A)).toBe(1n); // a message from elsewhere is still challenged
    expect(g.allow('m', V, 1_000)).toBe(false);
  });

  it('answers an untracked remote (not a member) and forgets a member that left', () => {
    const g = new EndpointGuard(() => 1n);
    expect(g.allow('stranger', V, 100)).toBe(true);
    g.received('m', A, 10, 0);
    expect(g.size).toBe(1);
    g.forget('m');
    expect(g.size).toBe(0);
  });

  // The guard remembers the Endpoint object it last heard from (the native socket hands one object
  // per source) to skip the string key: an equal object from elsewhere must count the same, and a
  // move to another endpoint and back must not keep a stale verdict.
  it('answers the same for the Endpoint object it last heard and for an equal copy', () => {
    const g = new EndpointGuard(() => 5n);
    const txid = g.received('m', A, 100, 0)!;
    expect(g.allow('m', { ...A }, 300)).toBe(true);
    expect(g.allow('m', A, 1)).toBe(false); // the budget is one, whichever object says where
    expect(g.answered('m', { ...A }, txid)).toBe(true);
    expect(g.allow('m', A, 10_000)).toBe(true);
    expect(g.allow('m', { ...A }, 10_000)).toBe(true);
    expect(g.received('m', { ...A }, 10, 10)).toBeUndefined(); // proven: no challenge
    // moved to V (unproven): limited there, and its own challenge
    expect(g.received('m', V, 10, 20)).toBe(5n);
    expect(g.allow('m', V, 31)).toBe(false);
    expect(g.allow('m', A, 10_000)).toBe(true); // A stays proven
    // back at A (an equal copy): proven again at once, nothing to challenge
    expect(g.received('m', { ...A }, 10, 30)).toBeUndefined();
    expect(g.allow('m', A, 10_000)).toBe(true);
    expect(g.proven('m')).toBe(true);
  });
});
