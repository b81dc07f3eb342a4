// Keypairs: current/previous/next rotation, so packets in flight across a rekey still open.
import { describe, expect, it } from 'vitest';
import { Keypairs } from '../../src/crypto/keypairs.js';
import type { TransportSession } from '../../src/crypto/session.js';
import { REJECT_AFTER_TIME_MS } from '../../src/crypto/constants.js';
import { sessionPair } from './session-pair.js';

const msg = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

describe('Keypairs', () => {
  it('hands over on rekey: the old key still opens in-flight packets until the new one is confirmed', () => {
    const retiredA: number[] = [];
    const retiredB: number[] = [];
    const A = new Keypairs((s) => retiredA.push(s.localIndex)); // initiator side
    const B = new Keypairs((s) => retiredB.push(s.localIndex)); // responder side
    const first = sessionPair(0, [1, 2]);
    A.onHandshakeComplete(first.a);
    B.onHandshakeComplete(first.b);
    expect(B.current).toBeUndefined(); // responder waits for confirmation
    expect(B.seal(msg('too early'), 0)).toBeUndefined();
    expect(text(B.open(A.seal(msg('confirm 1'), 0)!, 0))).toBe('confirm 1');
    expect(B.current).toBe(first.b);

    // In flight both ways on the old keys while a rekey happens.
    const oldAtoB = A.seal(msg('old a->b'), 10)!;
    const oldBtoA = B.seal(msg('old b->a'), 10)!;
    const second = sessionPair(100, [3, 4]);
    B.onHandshakeComplete(second.b); // responder: next
    A.onHandshakeComplete(second.a); // initiator: current at once, old -> previous
    expect(A.current).toBe(second.a);
    expect(A.previous).toBe(first.a);
    expect(B.next).toBe(second.b);
    expect(B.current).toBe(first.b);
    // Responder keeps sending on the old key until confirmed; A can still open it.
    expect(text(A.open(B.seal(msg('b still old'), 20)!, 20))).toBe('b still old');
    expect(text(A.open(oldBtoA, 20))).toBe('old b->a');
    // First packet on the new key confirms it at B.
    const newAtoB = A.seal(msg('new a->b'), 30)!;
    expect(text(B.open(newAtoB, 30))).toBe('new a->b');
    expect(B.current).toBe(second.b);
    expect(B.previous).toBe(first.b);
    // The old packet arriving late still opens via previous.
    expect(text(B.open(oldAtoB, 31))).toBe('old a->b');
    expect(text(A.open(B.seal(msg('b new'), 32)!, 32))).toBe('b new');
    expect(retiredA).toEqual([]);
    expect(retiredB).toEqual([]);

    // A third handshake retires the oldest pair on each side.
    const third = sessionPair(200, [5, 6]);
    A.onHandshakeComplete(third.a);
    B.onHandshakeComplete(third.b);
    expect(retiredA).toEqual([1]);
    expect(retiredB).toEqual([2]);
  });

  it('an initiator completing while an unconfirmed next exists (both sides initiated) promotes next to previous', () => {
    const K = new Keypairs();
    const asResponder = sessionPair(0, [1, 2]).b; // localIndex 2, responder
    const asInitiator = sessionPair(0, [3, 4]).a; // localIndex 3, initiator
    K.onHandshakeComplete(asResponder);
    K.onHandshakeComplete(asInitiator);
    expect(K.current).toBe(asInitiator);
    expect(K.previous).toBe(asResponder);
    expect(K.next).toBeUndefined();
  });

  it.each([
    ['unknown index', (d: Uint8Array) => { const t = new Uint8Array(d); t[4] = 99; return t; }],
    ['shorter than a header', (d: Uint8Array) => d.subarray(0, 6)],
  ])('counts %s', (_why, mangle) => {
    const { a, b } = sessionPair(0, [1, 2]);
    const K = new Keypairs();
    K.onHandshakeComplete(b);
    expect(K.open(mangle(a.seal(msg('x'), 0)!), 0)).toBeUndefined();
    expect(K.unknownIndex).toBe(1);
  });

  it('expire drops old sessions and reports them', () => {
    const retired: TransportSession[] = [];
    const K = new Keypairs((s) => retired.push(s));
    const { a } = sessionPair(0, [1, 2]);
    K.onHandshakeComplete(a);
    K.expire(REJECT_AFTER_TIME_MS - 1);
    expect(K.current).toBe(a);
    K.expire(REJECT_AFTER_TIME_MS);
    expect(K.current).toBeUndefined();
    expect(retired).toEqual([a]);
    K.clear();
    expect(retired).toEqual([a]);
  });
});
