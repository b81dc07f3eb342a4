// Golden bytes, rejects, fuzz and the type names of hub/cluster-signal.ts (hub-to-hub signals).
import { describe, expect, it } from 'vitest';
import { decodeSignal, encodeSignal, SignalType, signalTypeName, type Signal } from '../../src/hub/cluster-signal.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import { CandidateKind, ControlType } from '../../src/wire/control.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec } from '../helpers/fuzz.js';

const key = new Uint8Array(32).fill(0xab);
const keyHex = 'ab'.repeat(32);

const golden: Array<[string, Signal, string]> = [
  [
    'PUNCH_FORWARD: a PUNCH body with seq 0 about the sender (endpoints family-tagged, protocol 2)',
    {
      type: SignalType.PUNCH_FORWARD, from: 0x0a090002, to: 0x0a090003,
      punch: { type: ControlType.PUNCH, seq: 0, publicKey: key, overlay: 0x0a090002, candidates: [{ kind: CandidateKind.PUBLIC, endpoint: { address: '198.51.100.7', port: 7000 } }] },
    },
    `32 0a090002 0a090003 0a 00000000 ${keyHex} 0a090002 01 ${CandidateKind.PUBLIC.toString(16).padStart(2, '0')} 04 c6336407 581b`,
  ],
];

describe('hub-to-hub signal codec', () => {
  it.each(golden)('%s', (_why, s, hex) => {
    expect(toHex(encodeSignal(s))).toBe(hex.replace(/\s+/g, ''));
    expect(decodeSignal(fromHex(hex))).toEqual(s);
  });

  it.each([
    ['empty', ''],
    ['short header', '33 0a090002 0a0900'],
    ['the retired RELAY_FORWARD (51): relayed data never crosses the bus', '33 0a090002 0a090003 04000000aa'],
    ['unknown type', '34 0a090002 0a090003 00'],
    ['PUNCH_FORWARD carrying another control type', '32 0a090002 0a090003 05 00000000'],
    ['PUNCH_FORWARD with a sequence number', `32 0a090002 0a090003 0a 01000000 ${keyHex} 0a090002 00`],
    ['PUNCH_FORWARD about another member than its sender', `32 0a090002 0a090003 0a 00000000 ${keyHex} 0a090009 00`],
    ['PUNCH_FORWARD with a truncated body', `32 0a090002 0a090003 0a 00000000 abab`],
  ])('rejects %s with DecodeError', (_why, hex) => {
    expect(() => decodeSignal(fromHex(hex))).toThrow(DecodeError);
  });

  it('pins the type names (numbers 50-59 are the cluster helper\'s)', () => {
    expect(signalTypeName).toEqual({ 50: 'PUNCH_FORWARD' });
  });

  it('fuzz: decode succeeds or throws DecodeError, and decode-encode-decode is a fixed point', () => {
    // Valid PUNCH_FORWARDs of random members, one byte in two changed, and random bytes.
    const input = (rng: Rng) => {
      if (rng.chance(0.2)) return rng.bytes(rng.int(60));
      const from = rng.int(0xffffffff);
      const b = encodeSignal({
        type: SignalType.PUNCH_FORWARD, from, to: rng.int(0xffffffff),
        punch: { type: ControlType.PUNCH, seq: 0, publicKey: rng.bytes(32), overlay: from, candidates: [] },
      });
      if (rng.chance(0.5)) b[rng.int(b.byteLength - 1)] = rng.int(255);
      return b;
    };
    const ok = fuzzCodec<Signal>({ seed: 24, iterations: 5000, input, decode: decodeSignal, encode: encodeSignal });
    expect(ok).toBeGreaterThan(1000);
  });
});
