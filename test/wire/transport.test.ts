// Transport codec: golden bytes both ways, hot-path header readers, seeded fuzz.
import { describe, expect, it } from 'vitest';
import {
  decodeTransport,
  encodeTransport,
  transportCounter,
  transportCounterUnsafe,
  transportReceiverIndex,
  writeTransportHeader,
} from '../../src/wire/transport.js';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';
import { GOLDEN } from '../crypto/golden.js';

describe('transport codec', () => {
  it('decodes and re-encodes the golden TRANSPORT', () => {
    const d = fromHex(GOLDEN.transport);
    const m = decodeTransport(d);
    expect(m.receiverIndex).toBe(0x0a0b0c0d);
    expect(m.counter).toBe(0n);
    expect(m.ciphertext.byteLength).toBe(5 + 16);
    expect(toHex(encodeTransport(m))).toBe(toHex(d));
  });

  it.each([
    [0, 0, '04000000 00000000 0000000000000000'],
    [0xffffffff, 1, '04000000 ffffffff 0100000000000000'],
    [0x01020304, 2 ** 32 + 5, '04000000 04030201 0500000001000000'],
    [7, 2 ** 53 - 1, '04000000 07000000 ffffffffffff1f00'],
  ])('header index %d counter %d <-> %s', (index, counter, hex) => {
    const out = new Uint8Array(16).fill(0xee);
    writeTransportHeader(out, index, counter);
    expect(toHex(out)).toBe(toHex(fromHex(hex)));
    expect(transportReceiverIndex(out)).toBe(index);
    expect(transportCounter(out)).toBe(counter);
    expect(transportCounterUnsafe(out)).toBe(false);
    expect(decodeTransport(new Uint8Array([...out, ...new Uint8Array(16)])).counter).toBe(BigInt(counter));
  });

  it('flags counters at or above 2^53 as unsafe', () => {
    expect(transportCounterUnsafe(fromHex('04000000 00000000 0000000000002000'))).toBe(true);
    expect(transportCounterUnsafe(fromHex('04000000 00000000 0000000000000001'))).toBe(true);
  });

  it.each([
    ['31 bytes', new Uint8Array(31).fill(0).map((_, i) => (i === 0 ? 4 : 0))],
    ['wrong type', fromHex(GOLDEN.hubKeyReq)],
    ['reserved set', Uint8Array.of(4, 1, ...new Uint8Array(30))],
  ])('%s throws DecodeError', (_why, d) => {
    expect(() => decodeTransport(d)).toThrow(DecodeError);
  });

  it('fuzz: decode succeeds or throws DecodeError; decode-encode-decode is a fixed point', () => {
    const input = (rng: Rng) => {
      const d = rng.bytes(rng.int(80));
      withTypeHeader(rng, d, 4);
      return d;
    };
    const ok = fuzzCodec({ seed: 4242, iterations: 3000, input, decode: decodeTransport, encode: encodeTransport });
    expect(ok).toBeGreaterThan(100);
  });
});
