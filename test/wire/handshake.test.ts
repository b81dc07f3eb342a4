// Handshake codec: golden bytes both ways, length/type checks, seeded fuzz.
import { describe, expect, it } from 'vitest';
import { decodeHandshakeInit, decodeHandshakeResp, encodeHandshakeInit, encodeHandshakeResp } from '../../src/wire/handshake.js';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';
import { GOLDEN } from '../crypto/golden.js';

describe('handshake codec', () => {
  it('decodes and re-encodes the golden HANDSHAKE_INIT', () => {
    const d = fromHex(GOLDEN.init);
    const m = decodeHandshakeInit(d);
    expect(m.senderIndex).toBe(0x01020304);
    expect(toHex(m.ephemeral)).toBe('57e53fec1db22e1708adc8fa76d7946104d9a5e0be62faaa1be87e77efaf5b22');
    expect(toHex(m.mac1)).toBe('0d7a71229face7b60024357d5b00f05a');
    expect(toHex(m.mac2)).toBe('00'.repeat(16));
    expect(toHex(encodeHandshakeInit(m))).toBe(toHex(d));
  });

  it('decodes and re-encodes the golden HANDSHAKE_RESP', () => {
    const d = fromHex(GOLDEN.resp);
    const m = decodeHandshakeResp(d);
    expect(m).toMatchObject({ senderIndex: 0x0a0b0c0d, receiverIndex: 0x01020304 });
    expect(toHex(m.encryptedNothing)).toBe('239e13a52ad35576aa6debae482bde16');
    expect(toHex(encodeHandshakeResp(m))).toBe(toHex(d));
  });

  it.each([
    ['init truncated', () => decodeHandshakeInit(fromHex(GOLDEN.init).subarray(0, 147))],
    ['init extended', () => decodeHandshakeInit(new Uint8Array([...fromHex(GOLDEN.init), 0]))],
    ['init given a response', () => decodeHandshakeInit(fromHex(GOLDEN.resp))],
    ['resp with init type', () => decodeHandshakeResp(Uint8Array.of(1, ...fromHex(GOLDEN.resp).subarray(1)))],
    ['resp with reserved byte', () => decodeHandshakeResp(Uint8Array.of(2, 0, 1, ...fromHex(GOLDEN.resp).subarray(3)))],
    ['resp empty', () => decodeHandshakeResp(new Uint8Array(0))],
  ])('%s throws DecodeError', (_why, f) => {
    expect(f).toThrow(DecodeError);
  });

  it('encode refuses wrong field sizes', () => {
    const m = decodeHandshakeInit(fromHex(GOLDEN.init));
    expect(() => encodeHandshakeInit({ ...m, ephemeral: new Uint8Array(31) })).toThrow(RangeError);
  });

  it.each([
    ['HANDSHAKE_INIT', 1, 148, decodeHandshakeInit, encodeHandshakeInit],
    ['HANDSHAKE_RESP', 2, 92, decodeHandshakeResp, encodeHandshakeResp],
  ] as const)('fuzz %s: decode succeeds or throws DecodeError; decode-encode-decode is a fixed point', (_n, type, size, dec, enc) => {
    const input = (rng: Rng) => {
      const d = rng.bytes(rng.chance(0.5) ? size : rng.int(size * 2));
      withTypeHeader(rng, d, type);
      return d;
    };
    const ok = fuzzCodec<unknown>({ seed: 0xc0ffee + type, iterations: 3000, input, decode: dec, encode: (m) => enc(m as never) });
    expect(ok).toBeGreaterThan(100);
  });
});
