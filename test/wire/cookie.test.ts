// COOKIE_REPLY codec: golden bytes both ways, length/type checks, seeded fuzz.
import { describe, expect, it } from 'vitest';
import { cookieReplyReceiverIndex, decodeCookieReply, encodeCookieReply } from '../../src/wire/cookie.js';
import { HANDSHAKE_INIT_SIZE } from '../../src/wire/handshake.js';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';
import { GOLDEN } from '../crypto/golden.js';

describe('cookie reply codec', () => {
  it('decodes and re-encodes the golden COOKIE_REPLY', () => {
    const d = fromHex(GOLDEN.cookieReply);
    const m = decodeCookieReply(d);
    expect(m.receiverIndex).toBe(0x01020304);
    expect(toHex(m.nonce)).toBe('09'.repeat(24));
    expect(toHex(m.encryptedCookie)).toBe('794302ab4b278d9277668f82c188c04061a5c67a75406c4a0b2c1a12f6b378f9');
    expect(toHex(encodeCookieReply(m))).toBe(toHex(d));
    expect(cookieReplyReceiverIndex(d)).toBe(0x01020304);
  });

  it('is smaller than the initiation it answers (no amplification)', () => {
    expect(fromHex(GOLDEN.cookieReply).byteLength).toBe(64);
    expect(64).toBeLessThan(HANDSHAKE_INIT_SIZE);
  });

  it.each([
    ['truncated', () => decodeCookieReply(fromHex(GOLDEN.cookieReply).subarray(0, 63))],
    ['extended', () => decodeCookieReply(new Uint8Array([...fromHex(GOLDEN.cookieReply), 0]))],
    ['given a HUB_KEY_RESP (same size, type 6)', () => decodeCookieReply(fromHex(GOLDEN.hubKeyResp))],
    ['reserved byte set', () => decodeCookieReply(Uint8Array.of(3, 0, 0, 1, ...fromHex(GOLDEN.cookieReply).subarray(4)))],
    ['empty', () => decodeCookieReply(new Uint8Array(0))],
  ])('%s throws DecodeError', (_why, f) => {
    expect(f).toThrow(DecodeError);
  });

  it('receiver index of a datagram of the wrong size is undefined', () => {
    expect(cookieReplyReceiverIndex(fromHex(GOLDEN.cookieReply).subarray(0, 8))).toBeUndefined();
  });

  it('encode refuses wrong field sizes', () => {
    const m = decodeCookieReply(fromHex(GOLDEN.cookieReply));
    expect(() => encodeCookieReply({ ...m, nonce: new Uint8Array(12) })).toThrow(RangeError);
    expect(() => encodeCookieReply({ ...m, encryptedCookie: new Uint8Array(16) })).toThrow(RangeError);
  });

  it('fuzz: decode succeeds or throws DecodeError; decode-encode-decode is a fixed point', () => {
    const input = (rng: Rng) => {
      const d = rng.bytes(rng.chance(0.5) ? 64 : rng.int(128));
      withTypeHeader(rng, d, 3);
      return d;
    };
    const ok = fuzzCodec({ seed: 0xc00c1e, iterations: 3000, input, decode: decodeCookieReply, encode: encodeCookieReply });
    expect(ok).toBeGreaterThan(100);
  });
});
