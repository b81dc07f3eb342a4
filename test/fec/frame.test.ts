// Golden bytes, fuzz and the op-name map for fec/frame.ts.
import { describe, expect, it } from 'vitest';
import {
  decodeFecFrame,
  encodeFecFrame,
  FEC_DATA_SYMBOL_OFFSET,
  FecOp,
  fecOpName,
  INNER_KIND_FEC,
  type FecFrame,
} from '../../src/fec/frame.js';
import { InnerKind, innerKindName } from '../../src/wire/inner.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec } from '../helpers/fuzz.js';

const golden: Array<[string, FecFrame, string]> = [
  [
    'DATA: group LE, index, shard length LE, then the inner message (here KCP)',
    { op: FecOp.DATA, group: 0x01020304, index: 9, shard: fromHex('01aabb') },
    '05 01 04030201 09 0300 01aabb',
  ],
  ['DATA may carry an empty shard', { op: FecOp.DATA, group: 0, index: 0, shard: new Uint8Array(0) }, '05 01 00000000 00 0000'],
  [
    'PARITY: group, parity index, k, m, coded length, coded bytes',
    { op: FecOp.PARITY, group: 0xfffffffe, index: 2, k: 10, m: 3, symbol: fromHex('1234 56') },
    '05 02 feffffff 02 0a 03 1234 56',
  ],
  ['REPORT: window, loss x 65536, burst x 256', { op: FecOp.REPORT, window: 1000, lossQ16: 3277, burstQ8: 384 }, '05 03 e803 cd0c 8001'],
];

describe('FEC frame codec', () => {
  it.each(golden)('%s', (_why, frame, hex) => {
    expect(toHex(encodeFecFrame(frame))).toBe(hex.replace(/\s+/g, ''));
    expect(decodeFecFrame(fromHex(hex))).toEqual(frame);
  });

  it('a DATA symbol is the length prefix and the shard, in place', () => {
    const b = fromHex('05 01 04030201 09 0300 01aabb');
    expect(toHex(b.subarray(FEC_DATA_SYMBOL_OFFSET))).toBe('030001aabb');
  });

  it.each([
    ['empty', ''],
    ['kind only', '05'],
    ['another inner kind', '01 01 00000000 00 0000'],
    ['unknown op', '05 09'],
    ['short DATA header', '05 01 00000000 00 00'],
    ['DATA length past the end', '05 01 00000000 00 0500 0102'],
    ['DATA length short of the end', '05 01 00000000 00 0100 0102'],
    ['DATA index 128', '05 01 00000000 80 0000'],
    ['PARITY without a length prefix', '05 02 00000000 00 01 01 12'],
    ['PARITY k = 0', '05 02 00000000 00 00 01 0000'],
    ['PARITY k = 129', '05 02 00000000 00 81 01 0000'],
    ['PARITY m = 0', '05 02 00000000 00 01 00 0000'],
    ['PARITY index >= m', '05 02 00000000 03 0a 03 0000'],
    ['REPORT too long', '05 03 e803 cd0c 8001 00'],
    ['REPORT too short', '05 03 e803'],
  ])('rejects %s with DecodeError', (_why, hex) => {
    expect(() => decodeFecFrame(fromHex(hex))).toThrow(DecodeError);
  });

  it('pins the op names and the proposed inner kind, which must stay free in wire/inner.ts', () => {
    expect(fecOpName).toEqual({ 1: 'DATA', 2: 'PARITY', 3: 'REPORT' });
    expect(INNER_KIND_FEC).toBe(5);
    const added = (InnerKind as unknown as Record<string, number | undefined>)['FEC'];
    if (added === undefined) expect(innerKindName).not.toHaveProperty(String(INNER_KIND_FEC));
    else expect(added).toBe(INNER_KIND_FEC);
  });

  it('fuzz: decode succeeds or throws DecodeError, and decode-encode-decode is a fixed point', () => {
    const input = (rng: Rng) => {
      const b = rng.bytes(rng.int(24));
      if (b.byteLength > 0 && rng.chance(0.9)) b[0] = INNER_KIND_FEC;
      if (b.byteLength > 1 && rng.chance(0.9)) b[1] = 1 + rng.int(3);
      if (b.byteLength >= 9 && b[1] === FecOp.DATA && rng.chance(0.7)) {
        b[6] = rng.int(130);
        b[7] = (b.byteLength - 9) & 0xff;
        b[8] = 0;
      }
      if (b.byteLength >= 11 && b[1] === FecOp.PARITY && rng.chance(0.7)) {
        b[7] = rng.int(131);
        b[8] = rng.int(131);
        b[6] = rng.int(b[8]! + 1);
      }
      return b;
    };
    const ok = fuzzCodec<FecFrame>({ seed: 19, iterations: 5000, input, decode: decodeFecFrame, encode: encodeFecFrame });
    expect(ok).toBeGreaterThan(1000);
  });
});
