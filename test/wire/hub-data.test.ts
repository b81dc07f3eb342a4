// Golden bytes, rejects and fuzz of wire/hub-data.ts (HUB_DATA, outer type 10: relayed data hub to hub).
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import {
  decodeHubData, decodeHubDataPlain, encodeHubDataHeader, encodeHubDataPlain, HUB_DATA_HEADER_SIZE, HUB_DATA_MIN_SIZE, HUB_DATA_TYPE, type HubDataPlain,
} from '../../src/wire/hub-data.js';
import { Rng } from '../fakes/rng.js';
import { fuzzCodec } from '../helpers/fuzz.js';

const epoch = fromHex('0102030405060708');

describe('hub data codec', () => {
  it('header: type 10, three zero bytes, the sender epoch, the counter u64 BE (20 bytes)', () => {
    const hex = '0a000000 0102030405060708 0000000100000002'.replace(/\s+/g, '');
    expect(toHex(encodeHubDataHeader({ epoch, counter: 2 ** 32 + 2 }))).toBe(hex);
    const frame = fromHex(hex + 'ee'.repeat(25));
    const d = decodeHubData(frame);
    expect(d.counter).toBe(2 ** 32 + 2);
    expect(toHex(d.epoch)).toBe('0102030405060708');
    expect(toHex(d.ad)).toBe(hex);
    expect(d.sealed.byteLength).toBe(25);
  });

  it('plaintext: from and to overlay BE, then the sealed datagram', () => {
    const p: HubDataPlain = { from: 0x0a090002, to: 0x0a090003, datagram: fromHex('04000000aa') };
    const hex = '0a090002 0a090003 04000000aa'.replace(/\s+/g, '');
    expect(toHex(encodeHubDataPlain(p))).toBe(hex);
    expect(decodeHubDataPlain(fromHex(hex))).toEqual(p);
  });

  it.each([
    ['empty', ''],
    ['one byte short of the smallest frame', '0a000000' + '00'.repeat(HUB_DATA_MIN_SIZE - 5)],
    ['reserved byte set', '0a000100' + '00'.repeat(HUB_DATA_MIN_SIZE)],
    ['another type', '04000000' + '00'.repeat(HUB_DATA_MIN_SIZE)],
    ['counter past 2^53', '0a000000 0102030405060708 0020000000000000'.replace(/\s+/g, '') + '00'.repeat(25)],
  ])('rejects the frame: %s, with DecodeError', (_why, hex) => {
    expect(() => decodeHubData(fromHex(hex))).toThrow(DecodeError);
  });

  it.each([
    ['empty', ''],
    ['no datagram', '0a0900020a090003'],
  ])('rejects the plaintext: %s, with DecodeError', (_why, hex) => {
    expect(() => decodeHubDataPlain(fromHex(hex))).toThrow(DecodeError);
  });

  it('refuses to encode what it could not decode (a caller bug: RangeError)', () => {
    expect(() => encodeHubDataHeader({ epoch: new Uint8Array(7), counter: 0 })).toThrow(RangeError);
    expect(() => encodeHubDataHeader({ epoch, counter: -1 })).toThrow(RangeError);
    expect(() => encodeHubDataPlain({ from: 1, to: 2, datagram: new Uint8Array(0) })).toThrow(RangeError);
  });

  it('fuzz (plaintext): decode succeeds or throws DecodeError, and decode-encode-decode is a fixed point', () => {
    const ok = fuzzCodec<HubDataPlain>({ seed: 10, iterations: 3000, input: (rng: Rng) => rng.bytes(rng.int(40)), decode: decodeHubDataPlain, encode: encodeHubDataPlain });
    expect(ok).toBeGreaterThan(2000);
  });

  it('fuzz (header): decode succeeds or throws DecodeError; the header re-encodes to the same bytes', () => {
    const rng = new Rng(11);
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const b = rng.bytes(30 + rng.int(40));
      if (rng.chance(0.7)) b.set([HUB_DATA_TYPE, 0, 0, 0]);
      if (rng.chance(0.9)) b.set([0, b[13]! & 0x1f], 12); // a counter under 2^53
      let d;
      try {
        d = decodeHubData(b);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        continue;
      }
      ok++;
      expect(toHex(encodeHubDataHeader(d))).toBe(toHex(b.subarray(0, HUB_DATA_HEADER_SIZE)));
    }
    expect(ok).toBeGreaterThan(1000);
  });
});
