// Visitor admission on published ports: the token bucket, the verdict order, and the gate's
// per-IP counts and bounded table (M6: one visitor cannot take every slot of a service).
import { describe, expect, it } from 'vitest';
import { decideVisitor, VisitorGate, type VisitorVerdict } from '../../src/publish/visitor-gate.js';
import { TokenBucket } from '../../src/util/token-bucket.js';

describe('the visitor token bucket (util/token-bucket.ts)', () => {
  it.each<[string, number, number, number, boolean, number]>([
    // why, tokens before, ms since last, rate/s, taken?, tokens after
    ['a full bucket gives one', 4, 0, 1, true, 3],
    ['an empty bucket refuses', 0, 0, 1, false, 0],
    ['half a second at 2/s refills one', 0, 500, 2, true, 0],
    ['refill stops at the burst', 3, 60_000, 10, true, 3],
    ['a clock going back refills nothing', 0.5, -1000, 10, false, 0.5],
  ])('%s', (_why, tokens, dt, rate, taken, after) => {
    const b = new TokenBucket(rate, 4, 10_000);
    if (tokens < 4) expect(b.take(10_000, 4 - tokens)).toBe(true);
    expect(b.take(10_000 + dt)).toBe(taken);
    expect(b.level(10_000 + dt)).toBeCloseTo(after);
  });
});

describe('decideVisitor', () => {
  const base = { serviceConns: 0, maxPerService: 256, ipConns: 0, maxPerIp: 16, tokenTaken: true, tracked: true };
  it.each<[string, Partial<typeof base>, VisitorVerdict]>([
    ['a first visitor', {}, 'ok'],
    ['the service is full (its own cap comes first)', { serviceConns: 256, ipConns: 16 }, 'service-full'],
    ['this IP holds its share', { ipConns: 16 }, 'ip-full'],
    ['this IP connects too fast', { tokenTaken: false }, 'rate'],
    ['the IP table is full (a spoofed-source storm)', { tracked: false }, 'table-full'],
  ])('%s', (_why, over, want) => {
    expect(decideVisitor({ ...base, ...over })).toBe(want);
  });
});

describe('VisitorGate', () => {
  it('caps open connections per IP, and a release frees a slot', () => {
    const g = new VisitorGate({ maxPerIp: 3, acceptsPerSec: 100 });
    const v = Array.from({ length: 5 }, () => g.admit('203.0.113.9', 0, 0, 256));
    expect(v).toEqual(['ok', 'ok', 'ok', 'ip-full', 'ip-full']);
    expect(g.admit('203.0.113.10', 0, 3, 256)).toBe('ok'); // another visitor still gets in
    g.release('203.0.113.9');
    expect(g.admit('203.0.113.9', 1, 0, 256)).toBe('ok');
  });

  it('limits the accept rate per IP: the burst, then the rate', () => {
    const g = new VisitorGate({ maxPerIp: 1000, acceptsPerSec: 2 }); // burst 8
    const first = Array.from({ length: 10 }, () => g.admit('198.51.100.7', 0, 0, 10_000));
    expect(first.filter((x) => x === 'ok')).toHaveLength(8);
    expect(first.slice(8)).toEqual(['rate', 'rate']);
    expect(g.admit('198.51.100.7', 500, 0, 10_000)).toBe('ok');
    expect(g.admit('198.51.100.7', 500, 0, 10_000)).toBe('rate');
  });

  it('refusals by cap spend no token', () => {
    const g = new VisitorGate({ maxPerIp: 1, acceptsPerSec: 1 }); // burst 4
    expect(g.admit('192.0.2.1', 0, 0, 10)).toBe('ok');
    for (let i = 0; i < 50; i++) expect(g.admit('192.0.2.1', 0, 0, 10)).toBe('ip-full');
    g.release('192.0.2.1');
    expect(g.admit('192.0.2.1', 0, 0, 10)).toBe('ok');
  });

  it('bounds its table: past maxIps new IPs are refused until a sweep frees idle entries', () => {
    const g = new VisitorGate({ maxPerIp: 4, acceptsPerSec: 10, maxIps: 100 });
    for (let i = 0; i < 100; i++) {
      expect(g.admit(`10.0.${i >> 8}.${i & 255}`, 0, 0, 1000)).toBe('ok');
      g.release(`10.0.${i >> 8}.${i & 255}`);
    }
    expect(g.admit('10.1.0.1', 0, 0, 1000)).toBe('table-full'); // buckets not refilled yet
    expect(g.trackedIps).toBe(100);
    expect(g.admit('10.1.0.1', 2_000, 0, 1000)).toBe('ok'); // refilled and closed: forgotten
    expect(g.trackedIps).toBe(1);
  });
});
