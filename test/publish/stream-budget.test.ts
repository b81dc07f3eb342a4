// The global budget for buffered stream bytes: which stalled streams are reset (table), and with
// real KcpStreams on a ManualClock, stalled readers past the budget are reset and writes refused.
import { describe, expect, it } from 'vitest';
import { KcpStream } from '../../src/publish/kcp-stream.js';
import { pickVictims, StreamBudget, type BudgetEntry } from '../../src/publish/stream-budget.js';
import { decodeInner, InnerKind, StreamOp } from '../../src/wire/inner.js';
import { ManualClock } from '../fakes/manual-clock.js';

describe('pickVictims', () => {
  const e = (id: number, bytes: number, stalled = true): BudgetEntry => ({ id, bytes, stalled });
  it.each<[string, BudgetEntry[], number, number, number[]]>([
    ['under the limit: nobody', [e(1, 50), e(2, 40)], 90, 100, []],
    ['over: the largest stalled first', [e(1, 50), e(2, 80), e(3, 10)], 140, 100, [2]],
    ['until back under', [e(1, 50), e(2, 60), e(3, 40)], 150, 40, [2, 1]],
    ['busy streams are never picked', [e(1, 90, false), e(2, 20)], 110, 100, [2]],
    ['nothing stalled: nobody (writes pause instead)', [e(1, 200, false)], 200, 100, []],
    ['equal sizes: lower id first (deterministic)', [e(5, 30), e(4, 30)], 60, 40, [4]],
  ])('%s', (_why, entries, total, limit, want) => {
    expect(pickVictims(entries, total, limit)).toEqual(want);
  });
});

/** `n` sender->receiver stream pairs on one clock; receivers never read (delivery paused). */
function stalledPairs(n: number, budget: StreamBudget, clock: ManualClock) {
  const pairs = [];
  for (let i = 0; i < n; i++) {
    const ends: KcpStream[] = [];
    const closed: Array<string | undefined | null> = [null, null];
    const mk = (me: number, other: number, withBudget: boolean) =>
      new KcpStream({
        conv: i + 1,
        clock,
        ...(withBudget ? { budget } : {}),
        send: (inner) => {
          const copy = inner.slice();
          clock.setTimer(5, () => {
            const m = decodeInner(copy);
            if (m.kind !== InnerKind.STREAM) return;
            if (m.op === StreamOp.DATA) ends[other]!.input(m.payload);
            else ends[other]!.remoteReset('');
          });
          void me;
        },
      });
    ends.push(mk(0, 1, true), mk(1, 0, true)); // one process's budget on both ends (as a hub's streams share one)
    ends.forEach((s, k) => (s.handlers = { onData: () => {}, onEnd: () => {}, onDrain: () => {}, onClose: (r) => (closed[k] = r) }));
    ends[1]!.pauseDelivery();
    pairs.push({ a: ends[0]!, b: ends[1]!, closed });
  }
  return pairs;
}

describe('StreamBudget with KcpStreams', () => {
  it('refuses writes past the limit and resets the largest stalled streams', () => {
    const clock = new ManualClock();
    const limit = 4 * 1024 * 1024;
    const budget = new StreamBudget(limit, clock);
    const pairs = stalledPairs(8, budget, clock);
    const chunk = new Uint8Array(64 * 1024);
    let refused = 0;
    for (let step = 0; step < 1000; step++) { // 10 s: past budgetStallMs
      for (const p of pairs) if (!p.a.closed && !p.a.needsDrain && !p.a.write(chunk)) refused++;
      clock.advance(10);
    }
    expect(refused).toBeGreaterThan(0);
    expect(budget.counters.resets).toBeGreaterThan(0);
    expect(pairs.filter((p) => p.closed.some((c) => String(c).startsWith('buffer budget exceeded')))).toHaveLength(budget.counters.resets);
    // Never more than the limit plus what one turn adds (a 64 KB chunk per stream, a fair share each).
    expect(budget.peakBytes).toBeLessThanOrEqual(limit + 8 * (80 * 1024 + budget.fairShareBytes));
    expect(budget.bytes).toBeLessThanOrEqual(limit);
  });

  it('without a budget the same senders hold ~0.9 MB each, 7 MB in all (what the budget prevents)', () => {
    const clock = new ManualClock();
    const unbounded = new StreamBudget(Number.MAX_SAFE_INTEGER, clock);
    const pairs = stalledPairs(8, unbounded, clock);
    const chunk = new Uint8Array(64 * 1024);
    for (let step = 0; step < 400; step++) {
      for (const p of pairs) if (!p.a.needsDrain) p.a.write(chunk);
      clock.advance(10);
    }
    expect(unbounded.bytes).toBeGreaterThan(6 * 1024 * 1024);
    expect(unbounded.counters.resets).toBe(0);
  });

  it('returns the charge when a stream closes', () => {
    const clock = new ManualClock();
    const budget = new StreamBudget(1 << 30, clock);
    const [p] = stalledPairs(1, budget, clock);
    p!.a.write(new Uint8Array(100_000));
    clock.advance(1);
    expect(budget.bytes).toBeGreaterThan(0);
    p!.a.reset('bye');
    expect(budget.bytes).toBe(0);
  });
});
