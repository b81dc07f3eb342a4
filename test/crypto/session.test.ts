// TransportSession: seal/open, tamper detection at every byte, replay, expiry and rekey arithmetic.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/util/bytes.js';
import { REJECT_AFTER_TIME_MS, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME_MS, REKEY_ON_RECEIVE_AFTER_MS } from '../../src/crypto/constants.js';
import { transportCounter, transportReceiverIndex } from '../../src/wire/transport.js';
import { TransportSession } from '../../src/crypto/session.js';
import type { TransportKeys } from '../../src/crypto/handshake.js';
import { sessionPair } from './session-pair.js';

/** Keys good enough to build a session (needsRekey reads only the clock and the role). */
const keysFor = (isInitiator: boolean): TransportKeys => ({ sendKey: new Uint8Array(32), recvKey: new Uint8Array(32), localIndex: 1, remoteIndex: 2, remoteStatic: new Uint8Array(32), isInitiator });

const msg = (s: string) => new TextEncoder().encode(s);

describe('TransportSession', () => {
  it('seals and opens both ways; header carries the peer index and the counter', () => {
    const { a, b } = sessionPair(0, [0x0a, 0x0b]);
    const d = a.seal(msg('hello'), 1)!;
    expect(d.byteLength).toBe(16 + 5 + 16);
    expect(toHex(d.subarray(0, 16))).toBe('04000000' + '0b000000' + '0000000000000000');
    expect(transportReceiverIndex(d)).toBe(0x0b);
    expect(new TextDecoder().decode(b.open(d, 2)!)).toBe('hello');
    const d2 = b.seal(msg('back'), 3)!;
    expect(transportReceiverIndex(d2)).toBe(0x0a);
    expect(new TextDecoder().decode(a.open(d2, 4)!)).toBe('back');
    expect(transportCounter(a.seal(msg('x'), 5)!)).toBe(1);
  });

  it('detects tampering with any single byte of a sealed packet', () => {
    const { a, b } = sessionPair();
    const d = a.seal(msg('a packet of some length, 40 bytes long!'), 0)!;
    for (let i = 0; i < d.byteLength; i++) {
      const t = new Uint8Array(d);
      t[i]! ^= 0x40;
      expect(b.open(t, 0), `byte ${i}`).toBeUndefined();
    }
    expect(b.drops.auth + b.drops.short + b.drops.replay).toBe(d.byteLength);
    expect(b.open(d, 0)).toBeDefined();
  });

  it.each([
    ['too short', (d: Uint8Array) => d.subarray(0, 31), 'short'],
    ['not a transport type', (d: Uint8Array) => Uint8Array.of(1, ...d.subarray(1)), 'short'],
    ['reserved byte set', (d: Uint8Array) => { const t = new Uint8Array(d); t[2] = 1; return t; }, 'short'],
    ['another receiver index', (d: Uint8Array) => { const t = new Uint8Array(d); t[4] = 9; return t; }, 'short'],
    ['counter above 2^53', (d: Uint8Array) => { const t = new Uint8Array(d); t[15] = 1; return t; }, 'replay'],
  ] as const)('drops %s as %s', (_why, mangle, reason) => {
    const { a, b } = sessionPair();
    expect(b.open(mangle(a.seal(msg('x'), 0)!), 0)).toBeUndefined();
    expect(b.drops[reason]).toBe(1);
  });

  it('refuses a replayed packet, accepts reordered ones, and a forged counter does not move the window', () => {
    const { a, b } = sessionPair();
    const p = [0, 1, 2, 3].map((i) => a.seal(msg(`p${i}`), 0)!);
    expect(b.open(p[2]!, 0)).toBeDefined();
    expect(b.open(p[0]!, 0)).toBeDefined();
    expect(b.open(p[2]!, 0)).toBeUndefined();
    expect(b.drops.replay).toBe(1);
    const forged = new Uint8Array(p[3]!);
    forged[12] = 0x7f; // far-future counter, tag no longer matches
    expect(b.open(forged, 0)).toBeUndefined();
    expect(b.drops.auth).toBe(1);
    expect(b.open(p[1]!, 0)).toBeDefined();
    expect(b.open(p[3]!, 0)).toBeDefined();
  });

  it('sealInto writes into a caller buffer, also in place (plaintext at offset 16)', () => {
    const { a, b } = sessionPair();
    const buf = new Uint8Array(100);
    buf.set(msg('in place'), 16);
    const n = a.sealInto(buf.subarray(16, 24), buf, 0);
    expect(n).toBe(40);
    expect(new TextDecoder().decode(b.open(buf.subarray(0, n), 0)!)).toBe('in place');
    expect(() => a.sealInto(msg('x'), new Uint8Array(10), 0)).toThrow(RangeError);
  });

  it.each([
    ['fresh', 0, false, false, false],
    ['just before REKEY_AFTER_TIME', REKEY_AFTER_TIME_MS - 1, false, false, false],
    ['at REKEY_AFTER_TIME: initiator rekeys', REKEY_AFTER_TIME_MS, true, false, false],
    ['at the receive-side threshold (165 s)', REKEY_ON_RECEIVE_AFTER_MS, true, true, false],
    ['just before REJECT_AFTER_TIME', REJECT_AFTER_TIME_MS - 1, true, true, false],
    ['at REJECT_AFTER_TIME: expired', REJECT_AFTER_TIME_MS, true, true, true],
  ])('age %s (%d ms): needsRekey %s, onReceive %s, expired %s', (_why, age, rekey, onRecv, expired) => {
    const created = 1000;
    const { a, b } = sessionPair(created);
    const now = created + age;
    expect(a.needsRekey(now)).toBe(rekey);
    expect(a.needsRekeyOnReceive(now)).toBe(onRecv);
    expect(b.needsRekey(now)).toBe(false); // the responder never rekeys on time
    expect(a.expired(now)).toBe(expired);
    expect(a.seal(msg('x'), now) === undefined).toBe(expired);
  });

  it.each([
    ['no jitter: at REKEY_AFTER_TIME', 0, REKEY_AFTER_TIME_MS, true],
    ['3 s of jitter: not yet at REKEY_AFTER_TIME', 3_000, REKEY_AFTER_TIME_MS, false],
    ['3 s of jitter: 1 ms before it is due', 3_000, REKEY_AFTER_TIME_MS + 2_999, false],
    ['3 s of jitter: due at REKEY_AFTER_TIME + 3 s', 3_000, REKEY_AFTER_TIME_MS + 3_000, true],
    ['3 s of jitter: well past it (the receive-side age, 165 s)', 3_000, REKEY_ON_RECEIVE_AFTER_MS, true],
  ])('rekey jitter, %s (jitter %d ms, age %d ms): initiator needsRekey %s', (_why, jitter, age, rekey) => {
    expect(new TransportSession(keysFor(true), 1_000, jitter).needsRekey(1_000 + age)).toBe(rekey);
    expect(new TransportSession(keysFor(false), 1_000, jitter).needsRekey(1_000 + age)).toBe(false); // the responder never rekeys on time
  });

  it('an expired session neither seals nor opens', () => {
    const { a, b } = sessionPair(0);
    const d = a.seal(msg('x'), REJECT_AFTER_TIME_MS - 1)!;
    expect(b.open(d, REJECT_AFTER_TIME_MS)).toBeUndefined();
    expect(b.drops.expired).toBe(1);
  });

  it('rekeys on either side after REKEY_AFTER_MESSAGES and stops at the counter limit', () => {
    const { a, b } = sessionPair(0);
    b.sendCounter = Number(REKEY_AFTER_MESSAGES) - 256; // doubles near 2^60 are 256 apart
    expect(b.needsRekey(0)).toBe(false);
    b.sendCounter = Number(REKEY_AFTER_MESSAGES);
    expect(b.needsRekey(0)).toBe(true);
    a.sendCounter = Number.MAX_SAFE_INTEGER - 1;
    expect(a.seal(msg('last'), 0)).toBeDefined();
    expect(a.seal(msg('one too many'), 0)).toBeUndefined();
  });
});
