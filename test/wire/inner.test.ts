// Golden bytes, fuzz and the name map for wire/inner.ts.
import { describe, expect, it } from 'vitest';
import { decodeInner, encodeInner, InnerKind, innerKindName, innerKindOf, StreamOp, type InnerMessage } from '../../src/wire/inner.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';

const golden: Array<[string, InnerMessage, string]> = [
  ['keepalive is one byte', { kind: InnerKind.KEEPALIVE }, '00'],
  ['KCP carries its datagram after the kind', { kind: InnerKind.KCP, payload: fromHex('aabb') }, '01 aabb'],
  ['IP carries one packet', { kind: InnerKind.IP, packet: fromHex('45') }, '02 45'],
  ['PING: txid u64 LE, flags', { kind: InnerKind.PING, txid: 0x0102030405060708n, flags: 1 }, '03 0807060504030201 01'],
  [
    'PONG: txid, observed endpoint (family 4, ip BE, port LE)',
    { kind: InnerKind.PONG, txid: 1n, observed: { address: '192.0.2.1', port: 7000 } },
    '04 0100000000000000 04 c0000201 581b',
  ],
  [
    'PONG: an IPv6 observed endpoint (family 6, 16 bytes, port LE)',
    { kind: InnerKind.PONG, txid: 1n, observed: { address: '2001:db8::1', port: 7000 } },
    '04 0100000000000000 06 20010db8000000000000000000000001 581b',
  ],
  ['CONTROL carries a control body', { kind: InnerKind.CONTROL, body: fromHex('0501000000') }, '10 0501000000'],
  ['STREAM DATA: op, conv LE, KCP datagram', { kind: InnerKind.STREAM, op: StreamOp.DATA, conv: 0x01020304, payload: fromHex('aabb') }, '11 01 04030201 aabb'],
  ['STREAM RESET: op, conv LE, reason text', { kind: InnerKind.STREAM, op: StreamOp.RESET, conv: 7, payload: fromHex('78') }, '11 02 07000000 78'],
  ['RELAY_TO: dst overlay BE, datagram', { kind: InnerKind.RELAY_TO, overlay: 0x0a090002, datagram: fromHex('04000000') }, '20 0a090002 04000000'],
  ['RELAY_FROM: src overlay BE, datagram', { kind: InnerKind.RELAY_FROM, overlay: 0x0a090003, datagram: fromHex('01') }, '21 0a090003 01'],
];

describe('inner codec', () => {
  it.each(golden)('%s', (_why, msg, hex) => {
    expect(toHex(encodeInner(msg))).toBe(hex.replace(/\s+/g, ''));
    expect(decodeInner(fromHex(hex))).toEqual(msg);
  });

  it.each([
    ['empty', ''],
    ['keepalive with a body', '0000'],
    ['short PING', '03 00'],
    ['long PONG', '04 0100000000000000 04 c0000201 581b 00'],
    ['PONG of the old 15-byte form (protocol 1)', '04 0100000000000000 c0000201 581b'],
    ['PONG family 6 in a 16-byte PONG', '04 0100000000000000 06 c0000201 581b'],
    ['PONG family 4 in a 28-byte PONG', '04 0100000000000000 04 20010db8000000000000000000000001 581b'],
    ['PONG family 7', '04 0100000000000000 07 c0000201 581b'],
    ['PONG with a v4-mapped IPv6 address', '04 0100000000000000 06 00000000000000000000ffffc0000201 581b'],
    ['short RELAY header', '20 0a09'],
    ['unknown kind', '07'],
    ['short STREAM header', '11 01 0403'],
    ['unknown STREAM op', '11 09 04030201'],
  ])('rejects %s with DecodeError', (_why, hex) => {
    expect(() => decodeInner(fromHex(hex))).toThrow(DecodeError);
  });

  it('pins the kind names', () => {
    expect(innerKindName).toEqual({
      0: 'KEEPALIVE', 1: 'KCP', 2: 'IP', 3: 'PING', 4: 'PONG', 16: 'CONTROL', 17: 'STREAM', 32: 'RELAY_TO', 33: 'RELAY_FROM',
    });
    expect(innerKindOf(fromHex('21'))).toBe(InnerKind.RELAY_FROM);
    expect(innerKindOf(fromHex('99'))).toBeUndefined();
  });

  it('fuzz: decode succeeds or throws DecodeError, and decode-encode-decode is a fixed point', () => {
    const kinds = Object.keys(innerKindName).map(Number);
    const input = (rng: Rng) => {
      const b = rng.bytes(rng.int(32));
      if (b.byteLength > 0 && rng.chance(0.8)) b[0] = kinds[rng.int(kinds.length)]!;
      // PONGs of both lengths with a family byte, so the endpoint decoder is reached.
      if (b.byteLength >= 10 && rng.chance(0.3)) {
        const pong = rng.bytes(rng.chance(0.5) ? 16 : 28);
        pong[0] = InnerKind.PONG;
        pong[9] = rng.chance(0.9) ? (pong.byteLength === 16 ? 4 : 6) : rng.int(256);
        return pong;
      }
      return b;
    };
    fuzzCodec<InnerMessage>({ seed: 5, iterations: 5000, input, decode: decodeInner, encode: encodeInner });
  });
});
