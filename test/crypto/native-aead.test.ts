// The crypto addon's ChaCha20-Poly1305 (crypto/native.ts nativeAead, src/crypto/native/aead.c) must
// give exactly node:crypto's bytes: sealed by one, opened by the other, forgeries refused, and the
// session's counters unchanged. Each session is given its AEAD (null: node:crypto); nothing global.
import { describe, expect, it } from 'vitest';
import { cryptoAddonAvailable, nativeAead } from '../../src/crypto/native.js';
import { TransportSession, type AeadBackend } from '../../src/crypto/session.js';

// Fixed keys, so two pairs built under different backends seal with the same key and counter.
const k1 = new Uint8Array(32).map((_, i) => i * 7 + 1);
const k2 = new Uint8Array(32).map((_, i) => i * 13 + 5);
function sessionPair(aead: AeadBackend | null): { a: TransportSession; b: TransportSession } {
  const rs = new Uint8Array(32);
  return {
    a: new TransportSession({ localIndex: 1, remoteIndex: 2, sendKey: k1, recvKey: k2, remoteStatic: rs, isInitiator: true }, 0, 0, aead),
    b: new TransportSession({ localIndex: 2, remoteIndex: 1, sendKey: k2, recvKey: k1, remoteStatic: rs, isInitiator: false }, 0, 0, aead),
  };
}

const native = nativeAead();

it('the built crypto addon has the AEAD', () => {
  expect(native !== undefined).toBe(cryptoAddonAvailable());
});

describe.skipIf(native === undefined)('native AEAD backend', () => {
  const nat = native as AeadBackend;

  it.each([0, 1, 15, 16, 17, 63, 64, 1378, 1400, 9000])('seals %i bytes exactly as node:crypto and opens both ways', (len) => {
    const pt = new Uint8Array(len).map((_, i) => (i * 31 + len) & 255);
    const slow = sessionPair(null);
    const sSlow = slow.a.seal(pt, 1)!;
    const fast = sessionPair(nat);
    const sFast = fast.a.seal(pt, 1)!;
    expect(Buffer.from(sFast).toString('hex')).toBe(Buffer.from(sSlow).toString('hex'));
    expect(fast.b.open(sSlow, 1)).toEqual(Buffer.from(pt)); // native opens what node:crypto sealed
    expect(slow.b.open(sFast, 1)).toEqual(Buffer.from(pt)); // and the reverse
  });

  it('refuses a flipped ciphertext or tag byte and counts it as auth', () => {
    const { a, b } = sessionPair(nat);
    const d = Buffer.from(a.seal(new Uint8Array(100).fill(9), 1)!);
    for (const at of [16, 60, d.length - 1]) {
      const bad = Buffer.from(d);
      bad[at]! ^= 0x40;
      expect(b.open(bad, 1)).toBeUndefined();
    }
    expect(b.drops.auth).toBe(3);
    expect(b.open(d, 1)).toEqual(Buffer.from(new Uint8Array(100).fill(9))); // a refusal did not burn the counter
  });

  it.each([0, 1, 64, 1400, 9000])('openInPlace gives open()\'s plaintext as a view of the datagram (%i bytes)', (len) => {
    const pt = new Uint8Array(len).map((_, i) => (i * 17 + 3) & 255);
    const { a, b } = sessionPair(nat);
    const slot = new Uint8Array(len + 64); // a receive slot with room around the datagram
    const d = a.seal(pt, 1)!;
    slot.set(d, 8);
    const got = b.openInPlace(slot.subarray(8, 8 + d.byteLength), 1)!;
    expect(Buffer.from(got)).toEqual(Buffer.from(pt));
    expect(got.buffer).toBe(slot.buffer); // no allocation: the ciphertext became the plaintext
    expect(got.byteOffset).toBe(slot.byteOffset + 8 + 16);
    expect(b.openInPlace(slot.subarray(8, 8 + d.byteLength), 1)).toBeUndefined(); // a replay, counted
    expect(b.drops.replay).toBe(1);
  });

  it('openInPlace refuses a flipped byte and the counter stays usable', () => {
    const { a, b } = sessionPair(nat);
    const d = Buffer.from(a.seal(new Uint8Array(100).fill(9), 1)!);
    const bad = Buffer.from(d);
    bad[60]! ^= 0x40;
    expect(b.openInPlace(bad, 1)).toBeUndefined();
    expect(b.drops.auth).toBe(1);
    expect(Buffer.from(b.openInPlace(d, 1)!)).toEqual(Buffer.from(new Uint8Array(100).fill(9)));
  });

  it('sealInto writes into a larger reused buffer', () => {
    const { a, b } = sessionPair(nat);
    const out = new Uint8Array(2048);
    const n = a.sealInto(new Uint8Array([1, 2, 3]), out, 1);
    expect(n).toBe(35);
    expect(b.open(out.subarray(0, n), 1)).toEqual(Buffer.from([1, 2, 3]));
  });
});
