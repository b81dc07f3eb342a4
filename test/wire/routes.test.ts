// Golden bytes, rejections, fuzz and the verdict names of ROUTE_OFFER and MAP_EXT (wire/routes.ts).
import { describe, expect, it } from 'vitest';
import { ControlType, decodeControl, encodeControl, REGISTER_FLAG_ROUTES, type ControlMessage } from '../../src/wire/control.js';
import { RouteVerdict, routeVerdictName } from '../../src/wire/routes.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';

const golden: Array<[string, ControlMessage, string]> = [
  ['ROUTE_OFFER: nothing offered', { type: ControlType.ROUTE_OFFER, seq: 1, prefixes: [] }, '1e 01000000 00'],
  [
    'ROUTE_OFFER: a LAN and the exit node offer (0.0.0.0/0), network BE then length',
    { type: ControlType.ROUTE_OFFER, seq: 2, prefixes: [{ network: 0xc0a83200, length: 24 }, { network: 0, length: 0 }] },
    '1e 02000000 02 c0a83200 18 00000000 00',
  ],
  [
    'MAP_EXT: version LE, count LE, then owner BE, prefix, verdict',
    {
      type: ControlType.MAP_EXT, seq: 3, version: 7,
      routes: [
        { owner: 0x0a090002, network: 0xc0a83200, length: 24, verdict: RouteVerdict.ADMITTED },
        { owner: 0x0a090003, network: 0x0a000000, length: 8, verdict: RouteVerdict.NOT_ALLOWED },
      ],
    },
    '1f 03000000 07000000 0200 0a090002 c0a83200 18 00 0a090003 0a000000 08 01',
  ],
  [
    'REGISTER with flag 0x02: this peer wants MAP_EXT',
    { type: ControlType.REGISTER, seq: 1, overlay: 0, prefix: 0, name: 'a', lan: [], bootId: 1n, flags: REGISTER_FLAG_ROUTES },
    '3c 01000000 02 00000000 00 01 61 00 0100000000000000 02',
  ],
];

describe('route control codec', () => {
  it.each(golden)('%s', (_why, msg, hex) => {
    expect(toHex(encodeControl(msg))).toBe(hex.replace(/\s+/g, ''));
    expect(decodeControl(fromHex(hex))).toEqual(msg);
  });

  it.each([
    ['ROUTE_OFFER length over 32', '1e 01000000 01 c0a83200 21'],
    ['ROUTE_OFFER host bits set', '1e 01000000 01 c0a83201 18'],
    ['ROUTE_OFFER 33 prefixes', '1e 01000000 21'],
    ['ROUTE_OFFER short prefix', '1e 01000000 01 c0a832'],
    ['MAP_EXT unknown verdict', '1f 03000000 07000000 0100 0a090002 c0a83200 18 09'],
    ['MAP_EXT 101 routes', '1f 03000000 07000000 6500'],
    ['MAP_EXT count beyond the bytes', '1f 03000000 07000000 0200 0a090002 c0a83200 18 00'],
    ['MAP_EXT trailing byte', '1f 03000000 07000000 0000 00'],
  ])('rejects %s with DecodeError', (_why, hex) => {
    expect(() => decodeControl(fromHex(hex))).toThrow(DecodeError);
  });

  it('refuses to encode a prefix with host bits', () => {
    expect(() => encodeControl({ type: ControlType.ROUTE_OFFER, seq: 1, prefixes: [{ network: 0xc0a83201, length: 24 }] })).toThrow(RangeError);
  });

  it('pins the verdict names', () => {
    expect(routeVerdictName).toEqual({ 0: 'ADMITTED', 1: 'NOT_ALLOWED', 2: 'TIE', 3: 'OVERLAPS_OVERLAY' });
  });

  it.each([
    [ControlType.ROUTE_OFFER, 31],
    [ControlType.MAP_EXT, 32],
  ])('fuzz type %i: decode succeeds or throws DecodeError, re-encoding is a fixed point', (type, seed) => {
    const ok = fuzzCodec({
      seed,
      iterations: 5000,
      input: (rng) => {
        // A well-formed message of random routes, then sometimes a flipped byte or a cut: most inputs
        // reach the per-route checks (length, host bits, verdict) rather than the header's.
        const n = rng.int(4);
        const prefixes = Array.from({ length: n }, () => {
          const length = rng.int(33);
          const network = length === 0 ? 0 : ((rng.int(0x10000) * 0x10000 + rng.int(0x10000)) & (0xffffffff << (32 - length))) >>> 0;
          return { network, length };
        });
        const msg: ControlMessage =
          type === ControlType.ROUTE_OFFER
            ? { type, seq: rng.int(1000), prefixes }
            : { type: ControlType.MAP_EXT, seq: rng.int(1000), version: rng.int(1000), routes: prefixes.map((p) => ({ owner: rng.int(0x10000), ...p, verdict: rng.int(4) })) };
        let d = encodeControl(msg);
        if (rng.chance(0.5)) d[rng.int(d.byteLength)] = rng.int(256);
        if (rng.chance(0.2)) d = d.slice(0, rng.int(d.byteLength + 1));
        if (rng.chance(0.1)) withTypeHeader(rng, (d = rng.bytes(rng.int(40))), type);
        return d;
      },
      decode: decodeControl,
      encode: encodeControl,
    });
    expect(ok).toBeGreaterThan(50);
  });
});
