// The relay shapes to the sender's budget (issue 19 item 6): over the budget a datagram waits in a
// short FIFO and leaves when the bucket refills (ManualClock), in order; only a full FIFO drops; memory
// stays within the caps however hard a sender floods; close() leaves no timer behind.
import { describe, expect, it } from 'vitest';
import type { Member } from '../../src/hub/registry.js';
import { Relay } from '../../src/hub/relay.js';
import { relayItemCost, relayQueueCapBytes } from '../../src/hub/relay-queue.js';
import { RelayShaper } from '../../src/hub/relay-shaper.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ManualClock } from '../fakes/manual-clock.js';

const member = (n: number): Member => ({
  publicKey: new Uint8Array(32).fill(n), id: `m${n}`, overlay: ipv4ToU32(`10.9.0.${n}`), name: `m${n}`, bootId: 1n,
  reflexive: { address: '198.51.100.1', port: 1000 + n }, lan: [], registeredMs: 0, lastHeartbeatMs: 0, relayedBytes: 0,
});

function shaper(bytesPerSec: number, burst: number, capBytes?: number, totalCapBytes?: number) {
  const clock = new ManualClock(0);
  const out: { item: number; at: number }[] = [];
  const s = new RelayShaper<number>({
    bytesPerSec, burstBytes: burst, clock, emit: (item) => out.push({ item, at: clock.now() }),
    ...(capBytes !== undefined ? { capBytes } : {}), ...(totalCapBytes !== undefined ? { totalCapBytes } : {}),
  });
  return { clock, out, s };
}

describe('RelayShaper', () => {
  it('sends within the burst at once, queues beyond it and lets the queue out at the budget, in order', () => {
    const { clock, out, s } = shaper(100_000, 2_000); // 100 kB/s: one 1,000-byte datagram per 10 ms
    const verdicts = Array.from({ length: 10 }, (_, i) => s.offer('a', 1_000, () => i, 0));
    expect(verdicts).toEqual(['sent', 'sent', ...Array(8).fill('queued')]);
    clock.advance(100);
    expect(out.map((o) => o.item)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Paced: the eight queued left 10 ms apart (no burst after the wait).
    expect(out.slice(2).map((o) => o.at)).toEqual([10, 20, 30, 40, 50, 60, 70, 80]);
    expect(s.delayed).toBe(8);
    expect(s.queuedBytes).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a datagram behind a queue waits its turn even when the bucket could pay it', () => {
    const { clock, out, s } = shaper(100_000, 1_500);
    expect(s.offer('a', 1_000, () => 1, 0)).toBe('sent');
    expect(s.offer('a', 1_000, () => 2, 0)).toBe('queued');
    clock.advance(6); // 1,100 tokens: item 2 leaves first (on the timer at 5 ms)
    expect(s.offer('a', 100, () => 3, clock.now())).toBe('sent');
    expect(out.map((o) => o.item)).toEqual([1, 2, 3]);
  });

  it.each([
    // [why, offered datagrams of 1,000 B at once, sender cap, hub-wide cap, sent at once, queued, full]
    ['the sender cap binds', 20, 5 * relayItemCost(1_000), 1e9, 2, 5, 13],
    ['the hub-wide cap binds', 20, 1e9, 3 * relayItemCost(1_000), 2, 3, 15],
    ['all fit', 6, 1e9, 1e9, 2, 4, 0],
  ] as const)('a flood: %s', (_why, n, cap, totalCap, sent, queued, full) => {
    const { s } = shaper(100_000, 2_000, cap, totalCap);
    const v = Array.from({ length: n }, (_, i) => s.offer('a', 1_000, () => i, 0));
    expect([v.filter((x) => x === 'sent').length, v.filter((x) => x === 'queued').length, v.filter((x) => x === 'full').length]).toEqual([sent, queued, full]);
    expect(s.queuedBytes).toBeLessThanOrEqual(Math.min(cap, totalCap));
  });

  it('senders are shaped apart: one flooding does not delay another', () => {
    const { clock, out, s } = shaper(100_000, 1_000);
    for (let i = 0; i < 50; i++) s.offer('flood', 1_000, () => 100 + i, 0);
    expect(s.offer('quiet', 500, () => 1, 0)).toBe('sent');
    clock.advance(10);
    expect(out.some((o) => o.item === 1 && o.at === 0)).toBe(true);
  });

  it('a long flood: delivered at the budget, memory within the cap all along, no timer left after close', () => {
    const rate = 1_000_000;
    const { clock, out, s } = shaper(rate, 10_000);
    let offered = 0;
    // 4x the budget for 5 s, offered every ms.
    for (let t = 0; t < 5_000; t++) {
      for (let i = 0; i < 3; i++) s.offer('a', 1_333, () => offered++, clock.now());
      expect(s.queuedBytes).toBeLessThanOrEqual(relayQueueCapBytes(rate));
      clock.advance(1);
    }
    const sentBytes = out.length * 1_333;
    expect(sentBytes).toBeGreaterThanOrEqual(0.98 * rate * 5);
    expect(sentBytes).toBeLessThanOrEqual(rate * 5 + 10_000 + 1_333);
    s.close();
    expect(clock.pending).toBe(0);
    expect(s.queuedBytes).toBe(0);
  });

  it('forgets idle senders (bounded state)', () => {
    const { clock, s } = shaper(100_000, 1_000);
    for (let i = 0; i < 100; i++) s.offer(`m${i}`, 100, () => i, 0);
    expect(s.size).toBe(100);
    clock.advance(2_000);
    s.offer('x', 100, () => 0, clock.now());
    expect(s.size).toBe(1);
  });
});

describe('Relay.offer', () => {
  it('forwards over the budget later instead of dropping, and counts only a full queue', () => {
    const clock = new ManualClock(0);
    const sent: Uint8Array[] = [];
    const r = new Relay(10_000, 2_000, { clock, send: (_t, inner) => sent.push(inner) });
    const a = member(1);
    const b = member(2);
    for (let i = 0; i < 10; i++) expect(r.offer(a, b, 1_000, () => new Uint8Array([i]))).toBe('forward');
    expect(sent.length).toBe(2);
    clock.advance(1_000);
    expect(sent.map((x) => x[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.relayedBytes).toBe(10_000);
    expect(a.relayedBytes).toBe(10_000);
    expect(r.drops.over_budget).toBe(0);
    expect(r.delayedPackets).toBe(8);
    // The queue at 10 kB/s holds its 64 KiB floor: a flood beyond it is dropped and counted.
    for (let i = 0; i < 200; i++) r.offer(a, b, 1_000, () => new Uint8Array(1));
    expect(r.drops.over_budget).toBeGreaterThan(100);
    r.close();
    expect(clock.pending).toBe(0);
  });

  it.each([
    ['unknown sender', undefined, member(2), 'unknown_sender'],
    ['unknown target', member(1), undefined, 'unknown_target'],
    ['to itself', member(1), member(1), 'to_self'],
  ] as const)('refuses: %s', (_why, s, t, verdict) => {
    const clock = new ManualClock(0);
    const r = new Relay(10_000, 2_000, { clock, send: () => undefined });
    expect(r.offer(s, t, 100, () => new Uint8Array(1))).toBe(verdict);
    expect(r.drops[verdict]).toBe(1);
  });
});
