// The stream framing (net/stream-frame.ts): golden bytes both ways, the reader over every split of
// a stream, bad lengths refused with DecodeError, and a seeded fuzz loop.
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameReader, STREAM_MAX_FRAME_BYTES } from '../../src/net/stream-frame.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';
import { fuzzCodec } from '../helpers/fuzz.js';
import { Rng } from '../fakes/rng.js';

describe('stream frame codec', () => {
  it.each([
    ['one byte', '04', '000104'],
    ['a TRANSPORT header', '04000000', '000404000000'],
    ['256 bytes: the length is big-endian', 'ab'.repeat(256), '0100' + 'ab'.repeat(256)],
  ])('%s', (_why, datagram, frame) => {
    expect(toHex(encodeFrame(fromHex(datagram)))).toBe(frame);
    expect(toHex(decodeFrame(fromHex(frame)))).toBe(datagram);
  });

  it.each([
    ['empty input', '', 'STREAM_FRAME_SHORT'],
    ['header only', '00', 'STREAM_FRAME_SHORT'],
    ['length 0 (nothing sends an empty datagram)', '0000', 'STREAM_FRAME_SIZE'],
    ['length above the maximum', (STREAM_MAX_FRAME_BYTES + 1).toString(16).padStart(4, '0'), 'STREAM_FRAME_SIZE'],
    ['fewer bytes than the length says', '000304', 'STREAM_FRAME_SHORT'],
    ['more bytes than the length says', '00010405', 'STREAM_FRAME_SHORT'],
  ])('refuses %s', (_why, hex, code) => {
    expect(() => decodeFrame(fromHex(hex))).toThrow(expect.objectContaining({ code }));
  });

  it('refuses to encode an empty or oversized datagram', () => {
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(DecodeError);
    expect(() => encodeFrame(new Uint8Array(STREAM_MAX_FRAME_BYTES + 1))).toThrow(DecodeError);
  });

  it('fuzz: decode succeeds or throws DecodeError, and re-encodes to the same bytes', () => {
    const ok = fuzzCodec({
      seed: 21,
      iterations: 5000,
      input: (rng) => {
        const n = rng.int(40);
        const d = rng.bytes(2 + n);
        if (rng.chance(0.6)) d.set([n >> 8, n & 0xff], 0);
        return d;
      },
      decode: (b) => Buffer.from(decodeFrame(b)),
      encode: (m) => encodeFrame(m),
    });
    expect(ok).toBeGreaterThan(1000);
  });
});

describe('FrameReader', () => {
  const datagrams = [fromHex('01'), fromHex('0203'), new Uint8Array(STREAM_MAX_FRAME_BYTES).fill(7), fromHex('04000000')];
  const stream = Buffer.concat(datagrams.map((d) => encodeFrame(d)));

  it('gives back every datagram whatever the chunking', () => {
    const rng = new Rng(5);
    for (let run = 0; run < 200; run++) {
      const got: string[] = [];
      const r = new FrameReader((d) => got.push(toHex(d)));
      let off = 0;
      while (off < stream.length) {
        const n = 1 + rng.int(run % 2 === 0 ? 7 : 3000);
        r.push(stream.subarray(off, off + n));
        off += n;
      }
      expect(got).toEqual(datagrams.map(toHex));
      expect(r.pending).toBe(0);
    }
  });

  it('throws DecodeError on a bad length, after the good frames before it', () => {
    const got: string[] = [];
    const r = new FrameReader((d) => got.push(toHex(d)));
    expect(() => r.push(Buffer.concat([encodeFrame(fromHex('aa')), fromHex('0000')]))).toThrow(DecodeError);
    expect(got).toEqual(['aa']);
    const r2 = new FrameReader(() => {});
    expect(() => r2.push(fromHex('ffff'))).toThrow(expect.objectContaining({ code: 'STREAM_FRAME_SIZE' }));
  });

  it('fuzz: random bytes in random chunks never throw anything but DecodeError', () => {
    const rng = new Rng(99);
    for (let i = 0; i < 2000; i++) {
      const r = new FrameReader(() => {});
      const b = rng.bytes(1 + rng.int(200));
      try {
        for (let off = 0; off < b.length; off += 1 + rng.int(16)) r.push(b.subarray(off, off + 1 + rng.int(16)));
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
      }
    }
  });
});
