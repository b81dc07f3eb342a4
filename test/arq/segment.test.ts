// Golden bytes for the 24-byte KCP segment header, both directions, plus DecodeError cases, the
// cmd name map and a seeded fuzz loop over the checked decoder.
import { describe, expect, it } from 'vitest';
import { KCP_OVERHEAD_BYTES, KcpCmd, kcpCmdName } from '../../src/arq/constants.js';
import { decodeDatagram, decodeSegment, encodeDatagram, encodeSegment, type SegmentHeader } from '../../src/arq/segment.js';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import type { Rng } from '../fakes/rng.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';

const golden: { name: string; h: SegmentHeader; payload: string; hex: string }[] = [
  {
    name: 'PUSH with payload, sn near wrap',
    h: { conv: 0x11223344, cmd: KcpCmd.Push, frg: 2, wnd: 128, ts: 0x01020304, sn: 0xfffffffe, una: 5, len: 3 },
    payload: '616263',
    hex: '44332211 51 02 8000 04030201 feffffff 05000000 03000000 616263',
  },
  {
    name: 'ACK echoes ts and sn, no payload',
    h: { conv: 1, cmd: KcpCmd.Ack, frg: 0, wnd: 0xffff, ts: 1000, sn: 7, una: 8, len: 0 },
    payload: '',
    hex: '01000000 52 00 ffff e8030000 07000000 08000000 00000000',
  },
  {
    name: 'WASK with zero window',
    h: { conv: 0xffffffff, cmd: KcpCmd.Wask, frg: 0, wnd: 0, ts: 0, sn: 0, una: 0xffffffff, len: 0 },
    payload: '',
    hex: 'ffffffff 53 00 0000 00000000 00000000 ffffffff 00000000',
  },
  {
    name: 'WINS',
    h: { conv: 0x01020304, cmd: KcpCmd.Wins, frg: 0, wnd: 0x1234, ts: 0x80000000, sn: 0, una: 1, len: 0 },
    payload: '',
    hex: '04030201 54 00 3412 00000080 00000000 01000000 00000000',
  },
];

describe('segment codec', () => {
  it('has a 24-byte header', () => {
    expect(KCP_OVERHEAD_BYTES).toBe(24);
  });

  it('pins the cmd name map', () => {
    expect(kcpCmdName).toEqual({ 81: 'PUSH', 82: 'ACK', 83: 'WASK', 84: 'WINS' });
  });

  it.each(golden)('encodes $name', ({ h, payload, hex }) => {
    expect(toHex(encodeSegment(h, fromHex(payload)))).toBe(hex.replace(/ /g, ''));
  });

  it.each(golden)('decodes $name', ({ h, payload, hex }) => {
    const d = decodeSegment(fromHex(hex));
    expect(d.header).toEqual(h);
    expect(toHex(d.payload)).toBe(payload);
  });

  it('packs several segments in one datagram and reads them back', () => {
    const segs = golden.map((g) => ({ header: g.h, payload: fromHex(g.payload) }));
    const dgram = encodeDatagram(segs);
    expect(toHex(dgram)).toBe(golden.map((g) => g.hex.replace(/ /g, '')).join(''));
    expect(decodeDatagram(dgram)).toEqual(segs);
  });

  it('ignores fewer than 24 trailing bytes, as the reference input loop does', () => {
    const g = golden[1]!;
    const d = new Uint8Array([...fromHex(g.hex), 1, 2, 3]);
    expect(decodeDatagram(d)).toHaveLength(1);
  });

  it.each([
    ['short header', '0100000052', 'KCP_SHORT'],
    ['len beyond the datagram', '01000000 51 00 8000 00000000 00000000 00000000 05000000 6162', 'KCP_LEN'],
    ['len with the top bit set', '01000000 51 00 8000 00000000 00000000 00000000 ffffffff', 'KCP_LEN'],
    ['unknown cmd', '01000000 50 00 8000 00000000 00000000 00000000 00000000', 'KCP_CMD'],
  ])('rejects %s with DecodeError', (_name, hex, code) => {
    let err: unknown;
    try {
      decodeDatagram(fromHex(hex));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe(code);
  });

  it.each([
    ['frg', { frg: 256 }],
    ['wnd', { wnd: 65536 }],
    ['sn', { sn: -1 }],
    ['ts', { ts: 2 ** 32 }],
  ])('refuses to encode an out-of-range %s', (_n, patch) => {
    const h = { ...golden[1]!.h, ...patch };
    expect(() => encodeSegment(h)).toThrow(DecodeError);
  });

  it('fuzz: decode either succeeds or throws DecodeError; decode-encode-decode is a fixed point', () => {
    const base = encodeDatagram(golden.map((g) => ({ header: g.h, payload: fromHex(g.payload) })));
    const input = (rng: Rng) => {
      if (!rng.chance(0.5)) return rng.bytes(rng.int(120));
      const b = base.slice(0, rng.int(base.length + 1));
      for (let k = rng.int(4); k > 0; k--) b[rng.int(b.length || 1)] = rng.int(256);
      return b;
    };
    // A truncated datagram may decode to fewer segments whose re-encoding is shorter: only the
    // decoded form is a fixed point here, not the bytes.
    const ok = fuzzCodec({ seed: 42, iterations: 5000, input, decode: decodeDatagram, encode: encodeDatagram, sameBytes: false });
    expect(ok).toBeGreaterThan(100);
  });
});
