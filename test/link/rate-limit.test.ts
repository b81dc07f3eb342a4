// The keyed token-bucket limiter and the HUB_KEY_REQ gate: bounded tables, swept on the clock the
// caller passes (at most once a second), never per datagram.
import { describe, expect, it } from 'vitest';
import { HubKeyGate } from '../../src/link/hub-key-gate.js';
import { KeyedRateLimiter } from '../../src/link/rate-limit.js';
import { ManualClock } from '../fakes/manual-clock.js';

describe('KeyedRateLimiter', () => {
  it('refuses new keys beyond maxKeys (under load) instead of sweeping per new key', () => {
    const clock = new ManualClock();
    const l = new KeyedRateLimiter(2, 4, { maxKeys: 100 });
    let passed = 0;
    for (let i = 0; i < 10_000; i++) if (l.take(`k${i}`, clock.now())) passed++;
    expect(l.size).toBe(100);
    expect(passed).toBe(100);
    expect(l.refusedFull).toBe(9_900);
  });

  it('is swept on the clock: full buckets are forgotten once a second, so new keys fit again', () => {
    const clock = new ManualClock();
    const l = new KeyedRateLimiter(2, 4, { maxKeys: 100 });
    for (let i = 0; i < 100; i++) l.take(`a${i}`, clock.now());
    clock.advance(500);
    expect(l.take('late', clock.now())).toBe(false); // within the interval: no sweep yet, still full
    clock.advance(1_500); // 2 s: every bucket refilled (1 token at 2/s takes 0.5 s) and the interval passed
    expect(l.take('late', clock.now())).toBe(true);
    expect(l.size).toBe(1);
  });

  it('keeps a bucket that is not full across a sweep (its debt is not forgiven)', () => {
    const clock = new ManualClock();
    const l = new KeyedRateLimiter(1, 4);
    for (let i = 0; i < 4; i++) expect(l.take('x', clock.now())).toBe(true);
    clock.advance(1_000);
    l.sweep(clock.now());
    expect(l.size).toBe(1);
    expect(l.take('x', clock.now())).toBe(true); // one token refilled
    expect(l.take('x', clock.now())).toBe(false);
  });

  it('sweeps at most once per interval however many keys arrive', () => {
    const clock = new ManualClock();
    const l = new KeyedRateLimiter(1000, 1, { maxKeys: 4096 });
    // 4,096 full buckets, then a stream of new keys within one interval: none of them sweeps.
    for (let i = 0; i < 4096; i++) l.take(`k${i}`, clock.now());
    clock.advance(10);
    for (let i = 0; i < 1000; i++) expect(l.take(`n${i}`, clock.now())).toBe(false);
    expect(l.size).toBe(4096);
  });
});

describe('HubKeyGate', () => {
  const opts = { perIpPerSec: 2, perIpBurst: 4, totalPerSec: 20, totalBurst: 40, maxSources: 64, rememberMs: 360_000, replayCapacity: 8192 };

  it.each([
    ['a new request', [['192.0.2.1', 't1']], ['answer']],
    ['the same request again (a replay)', [['192.0.2.1', 't1'], ['192.0.2.1', 't1']], ['answer', 'replayed']],
    ['the same request from another IP (a reflected replay)', [['192.0.2.1', 't1'], ['198.51.100.1', 't1']], ['answer', 'replayed']],
    ['five fresh requests from one IP (burst 4)', [1, 2, 3, 4, 5].map((i) => ['192.0.2.1', `t${i}`]), ['answer', 'answer', 'answer', 'answer', 'rate_limited']],
  ] as const)('%s', (_why, reqs, want) => {
    const g = new HubKeyGate(opts, 0);
    expect(reqs.map(([ip, tag]) => g.admit(ip, tag, 0))).toEqual(want);
  });

  it('remembers an answered request for rememberMs at least, then forgets it', () => {
    const clock = new ManualClock();
    const g = new HubKeyGate(opts, clock.now());
    expect(g.admit('192.0.2.1', 'x', clock.now())).toBe('answer');
    clock.advance(359_000);
    expect(g.admit('192.0.2.2', 'x', clock.now())).toBe('replayed');
    clock.advance(2_000); // first generation turned: x is in the previous one
    expect(g.admit('192.0.2.2', 'x', clock.now())).toBe('replayed');
    clock.advance(720_000); // two generations: x is stale anyway (the freshness window refuses it first)
    expect(g.admit('192.0.2.2', 'x', clock.now())).toBe('answer');
  });

  it('answers at most totalBurst at once from many IPs, then totalPerSec', () => {
    const clock = new ManualClock();
    const g = new HubKeyGate({ ...opts, maxSources: 10_000 }, clock.now());
    let answered = 0;
    for (let i = 0; i < 1000; i++) if (g.admit(`10.0.${i >> 8}.${i & 255}`, `t${i}`, clock.now()) === 'answer') answered++;
    expect(answered).toBe(40);
    clock.advance(1_000);
    for (let i = 1000; i < 2000; i++) if (g.admit(`10.1.${i >> 8}.${i & 255}`, `t${i}`, clock.now()) === 'answer') answered++;
    expect(answered).toBe(60);
  });

  it('tracks a bounded number of source IPs and frees them on the clock', () => {
    const clock = new ManualClock();
    const g = new HubKeyGate({ ...opts, totalPerSec: 1e9, totalBurst: 1e9 }, clock.now());
    for (let i = 0; i < 500; i++) g.admit(`10.0.${i >> 8}.${i & 255}`, `t${i}`, clock.now());
    expect(g.sources).toBe(64);
    clock.advance(5_000);
    g.sweep(clock.now());
    expect(g.sources).toBe(0);
  });
});
