// The DH backlog on its own: one entry per source (a retry replaces in place), bounded, worked in
// slices of sliceMs per turn of the loop (at least one), errors handed on without losing the slice.
import { describe, expect, it } from 'vitest';
import { HandshakeBacklog } from '../../src/link/handshake-backlog.js';
import { udpPath } from '../../src/link/path.js';
import type { Clock } from '../../src/util/clock.js';

/** A clock whose deferred callbacks run only when the test says (one turn at a time). */
function stepClock() {
  let t = 0;
  const turns: Array<() => void> = [];
  const clock: Clock = {
    now: () => t,
    setTimer: (_ms, fn) => turns.push(fn),
    clearTimer: () => {},
  };
  return { clock, tick: (ms: number) => (t += ms), turn: () => turns.shift()?.(), pending: () => turns.length };
}

const from = (port: number) => udpPath({ address: '192.0.2.7', port });

describe('handshake backlog', () => {
  it('answers for up to the slice per turn (at least one), then yields to the next turn', () => {
    const c = stepClock();
    const answered: number[][] = [];
    let turn: number[] = [];
    const b = new HandshakeBacklog(c.clock, 100, 2, (d) => {
      turn.push(d[0]!);
      c.tick(1); // each DH takes 1 ms
    }, () => {});
    for (let i = 0; i < 5; i++) expect(b.offer(`s${i}`, Uint8Array.of(i), from(i))).toBe('queued');
    expect(c.pending()).toBe(1); // one turn scheduled, nothing answered yet
    while (c.pending() > 0) {
      turn = [];
      c.turn();
      answered.push(turn);
    }
    expect(answered).toEqual([[0, 1], [2, 3], [4]]);
    expect(b.size).toBe(0);
  });

  it('keeps one per source: a retry replaces the waiting copy in its place; bounded; copies the bytes', () => {
    const c = stepClock();
    const got: number[] = [];
    const b = new HandshakeBacklog(c.clock, 2, 100, (d) => got.push(d[0]!), () => {});
    const buf = Uint8Array.of(1);
    expect(b.offer('a', buf, from(1))).toBe('queued');
    buf[0] = 9; // the socket reuses its buffer
    expect(b.offer('b', Uint8Array.of(2), from(2))).toBe('queued');
    expect(b.offer('c', Uint8Array.of(3), from(3))).toBe('full');
    expect(b.offer('a', Uint8Array.of(4), from(1))).toBe('superseded');
    expect(b.size).toBe(2);
    c.turn();
    expect(got).toEqual([4, 2]); // a's retry, in a's place
  });

  it('hands an error on and answers the rest; nothing runs after close', () => {
    const c = stepClock();
    const got: number[] = [];
    const errors: unknown[] = [];
    const b = new HandshakeBacklog(c.clock, 10, 100, (d) => {
      if (d[0] === 1) throw new Error('bug');
      got.push(d[0]!);
    }, (e) => errors.push(e));
    b.offer('a', Uint8Array.of(1), from(1));
    b.offer('b', Uint8Array.of(2), from(2));
    c.turn();
    expect(got).toEqual([2]);
    expect(errors).toHaveLength(1);
    b.offer('c', Uint8Array.of(3), from(3));
    b.close();
    c.turn();
    expect(got).toEqual([2]);
    expect(b.size).toBe(0);
  });
});
