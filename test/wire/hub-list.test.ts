// HUB_LIST (control type 56, wire/hub-list.ts): golden bytes both ways, refusals, seeded fuzz.
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { decodeHubList, encodeHubList, HUB_LIST_MAX_KEYS, HUB_LIST_TYPE, REGISTER_FLAG_HUB_LIST, type HubListMessage } from '../../src/wire/hub-list.js';
import { fuzzCodec } from '../helpers/fuzz.js';

const k = (b: number) => new Uint8Array(32).fill(b);

const golden: Array<[string, HubListMessage, string]> = [
  ['no hubs (a hub whose state names none)', { seq: 1, keys: [] }, '38 01000000 0000'],
  ['two hubs', { seq: 0x01020304, keys: [k(0xaa), k(0x01)] }, `38 04030201 0200 ${'aa'.repeat(32)} ${'01'.repeat(32)}`],
];

describe('HUB_LIST', () => {
  it('pins the numbers both sides must agree on', () => {
    expect([HUB_LIST_TYPE, REGISTER_FLAG_HUB_LIST, HUB_LIST_MAX_KEYS]).toEqual([56, 0x80, 32]);
  });

  it.each(golden)('%s', (_why, m, hex) => {
    const bytes = fromHex(hex.replace(/ /g, ''));
    expect(toHex(encodeHubList(m))).toBe(toHex(bytes));
    expect(decodeHubList(bytes)).toEqual(m);
  });

  it.each([
    ['short header', '38 010000'],
    ['another type', '29 01000000 0000'],
    ['a key short', `38 01000000 0100 ${'aa'.repeat(31)}`],
    ['a byte too many', `38 01000000 0000 00`],
    ['more keys than allowed', `38 01000000 2100 ${'aa'.repeat(32 * 33)}`],
  ])('refuses %s', (_why, hex) => {
    expect(() => decodeHubList(fromHex(hex.replace(/ /g, '')))).toThrow(DecodeError);
  });

  it('fuzz: decodes or throws DecodeError; re-encodes to the same bytes', () => {
    const ok = fuzzCodec({
      seed: 56,
      iterations: 3000,
      input: (rng) => {
        const count = rng.int(4);
        const d = rng.bytes(7 + 32 * count + (rng.chance(0.3) ? rng.int(3) - 1 : 0));
        if (d.byteLength >= 7 && rng.chance(0.9)) {
          d[0] = HUB_LIST_TYPE;
          d[5] = count;
          d[6] = 0;
        }
        return d;
      },
      decode: decodeHubList,
      encode: encodeHubList,
    });
    expect(ok).toBeGreaterThan(1000);
  });
});
