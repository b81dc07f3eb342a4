// The path tick's sleep (path-tick.ts) and what each peer's path state says is due next
// (PeerPaths.nextDueMs): a warm idle peer no longer wakes ten times a second (issue 19 item 7).
import { describe, expect, it } from 'vitest';
import { activePingIntervalMs, directMaxSilenceMs, idlePingIntervalMs } from '../../src/peer/path.js';
import { pathIdleTickMaxMs, pathTickDelayMs, pathTickMs } from '../../src/peer/path-tick.js';
import { PeerPaths } from '../../src/peer/peer-paths.js';

const pub = { kind: 'direct' as const, endpoint: { address: '198.51.100.7', port: 20001 } };

describe('pathTickDelayMs', () => {
  it.each([
    { why: 'work due now: the fast tick', due: 5_000, now: 5_000, delay: pathTickMs },
    { why: 'work overdue: the fast tick, never 0', due: 4_000, now: 5_000, delay: pathTickMs },
    { why: 'due in 50 ms: not sooner than the fast tick', due: 5_050, now: 5_000, delay: pathTickMs },
    { why: 'due in 400 ms: sleep until then', due: 5_400, now: 5_000, delay: 400 },
    { why: 'keepalive in 9 s: at most the idle cap', due: 14_000, now: 5_000, delay: pathIdleTickMaxMs },
    { why: 'nothing due at all: the idle cap', due: Infinity, now: 5_000, delay: pathIdleTickMaxMs },
  ])('$why', ({ due, now, delay }) => {
    expect(pathTickDelayMs(due, now)).toBe(delay);
  });
});

/** A PeerPaths that punched `pub` at 0 and got its PONG at 20 ms: direct, nothing outstanding. */
function directAt20(): PeerPaths {
  const p = new PeerPaths(0, () => 0.5);
  p.startPunch([pub], 0);
  const [ping] = p.due(0);
  expect(p.onPong(ping!.txid, pub.endpoint, 20)).toBe('upgraded');
  // The round goes on (its remaining steps probe only better kinds); let it end.
  for (let t = 100; t <= 6_000; t += 100) p.due(t);
  expect(p.punching).toBe(false);
  return p;
}

describe('PeerPaths.nextDueMs', () => {
  it('is now while a punch round runs', () => {
    const p = new PeerPaths(0, () => 0.5);
    p.startPunch([pub], 0);
    expect(p.nextDueMs(50)).toBe(50);
  });

  it('relayed after an unanswered round: the next direct attempt', () => {
    const p = new PeerPaths(0, () => 0.5);
    p.startPunch([pub], 0);
    for (let t = 0; t <= 6_000; t += 100) p.due(t);
    expect(p.punching).toBe(false);
    expect(p.nextDueMs(6_100)).toBe(p.nextRetryMs);
    expect(p.nextRetryMs).toBeGreaterThan(30_000);
  });

  it('direct and idle: the next keepalive, 10 s after the last PING', () => {
    const p = directAt20();
    expect(p.direct).toBeDefined();
    const last = p.direct!.lastPingMs;
    expect(p.nextDueMs(6_100)).toBe(Math.min(last + idlePingIntervalMs, p.direct!.lastPongMs + directMaxSilenceMs));
    expect(p.nextDueMs(6_100) - 6_100).toBeGreaterThan(pathIdleTickMaxMs);
  });

  it('direct with traffic: the next keepalive 1 s after the last PING', () => {
    const p = directAt20();
    p.noteData(6_000);
    expect(p.nextDueMs(6_100)).toBe(p.direct!.lastPingMs + activePingIntervalMs);
  });

  it('a keepalive PING awaiting its PONG: now (its path dies 3 s after it if none comes)', () => {
    const p = directAt20();
    const [ka] = p.due(20_000);
    expect(ka).toBeDefined();
    expect(p.nextDueMs(20_050)).toBe(20_050);
    expect(p.onPong(ka!.txid, pub.endpoint, 20_060)).toBe('refreshed');
    expect(p.nextDueMs(20_100)).toBe(20_000 + idlePingIntervalMs);
  });

  it('a PING from a new source (a triggered check): now', () => {
    const p = directAt20();
    p.sawPingFrom({ address: '192.168.1.3', port: 51820 }, 'lan', 7_000);
    expect(p.nextDueMs(7_000)).toBe(7_000);
  });
});
