// HUB_KEY_REQ / HUB_KEY_RESP codec: golden bytes both ways, seeded fuzz.
import { describe, expect, it } from 'vitest';
import { decodeHubKeyReq, decodeHubKeyResp, encodeHubKeyReq, encodeHubKeyResp, HUB_KEY_REQ_SIZE, HUB_KEY_RESP_SIZE } from '../../src/wire/hub-key.js';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';
import { GOLDEN } from '../crypto/golden.js';

function withByte(d: Uint8Array, at: number, v: number): Uint8Array {
  const c = new Uint8Array(d);
  c[at] = v;
  return c;
}

describe('hub-key codec', () => {
  it('a request is as large as the response: the hub never answers with more bytes than it got', () => {
    expect(HUB_KEY_REQ_SIZE).toBe(64);
    expect(HUB_KEY_REQ_SIZE).toBeGreaterThanOrEqual(HUB_KEY_RESP_SIZE);
  });

  it('golden HUB_KEY_REQ both ways', () => {
    const d = fromHex(GOLDEN.hubKeyReq);
    const m = decodeHubKeyReq(d);
    expect(m.timestampMs).toBe(Date.UTC(2024, 0, 1));
    expect(toHex(m.nonce)).toBe('07'.repeat(12));
    expect(toHex(m.mac)).toBe('ef54b659f2355e23f00e91ac633a82f6');
    expect(toHex(encodeHubKeyReq(m))).toBe(toHex(d));
  });

  it('golden HUB_KEY_RESP both ways', () => {
    const d = fromHex(GOLDEN.hubKeyResp);
    const m = decodeHubKeyResp(d);
    expect(toHex(m.hubStatic)).toBe('b99fe0f4c73a06edee98321e8753ab3e17d483a84b47b426f3d246fd0212920e');
    expect(toHex(encodeHubKeyResp(m))).toBe(toHex(d));
  });

  it.each([
    ['req short (the old 32-byte form)', () => decodeHubKeyReq(fromHex(GOLDEN.hubKeyReq).subarray(0, 32))],
    ['req with padding not zero', () => decodeHubKeyReq(withByte(fromHex(GOLDEN.hubKeyReq), 30, 1))],
    ['req with a timestamp past 2^53', () => decodeHubKeyReq(withByte(fromHex(GOLDEN.hubKeyReq), 4, 0xff))],
    ['req long', () => decodeHubKeyReq(new Uint8Array([...fromHex(GOLDEN.hubKeyReq), 0]))],
    ['resp given a req', () => decodeHubKeyResp(fromHex(GOLDEN.hubKeyReq))],
    ['resp with type 5', () => decodeHubKeyResp(Uint8Array.of(5, ...fromHex(GOLDEN.hubKeyResp).subarray(1)))],
  ])('%s throws DecodeError', (_why, f) => {
    expect(f).toThrow(DecodeError);
  });

  it.each([
    ['HUB_KEY_REQ', 5, 64, decodeHubKeyReq, encodeHubKeyReq],
    ['HUB_KEY_RESP', 6, 64, decodeHubKeyResp, encodeHubKeyResp],
  ] as const)('fuzz %s: decode or DecodeError; decode-encode-decode fixed point', (_n, type, size, dec, enc) => {
    const input = (rng: Rng) => {
      const d = rng.bytes(rng.chance(0.5) ? size : rng.int(size * 2));
      // A request decodes only with zero padding and a timestamp below 2^53: make most look so.
      if (withTypeHeader(rng, d, type) && type === 5 && d.byteLength === 64 && rng.chance(0.8)) {
        d[4] = d[5] = 0;
        d.fill(0, 24, 48);
      }
      return d;
    };
    const ok = fuzzCodec<unknown>({ seed: 77 + type, iterations: 3000, input, decode: dec, encode: (m) => enc(m as never) });
    expect(ok).toBeGreaterThan(100);
  });
});
