// wire/probe.ts: golden bytes both ways, refusals, the type-name map, and the seeded fuzz loop.
import { describe, expect, it } from 'vitest';
import { decodeProbe, encodeProbe, probeReply, probeTypeOf, PROBE_SIZE, PROBE_TYPE_NAMES, ProbeType } from '../../src/wire/probe.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';

const probeHex = '50000000' + '00000007' + 'deadbeef' + '00'.repeat(52);
const replyHex = '51000000' + '00000007' + 'deadbeef' + '00000000';

describe('transport probe codec', () => {
  it.each([
    ['a probe (64 bytes, zero padded)', probeHex, { type: ProbeType.Probe, seq: 7, token: 0xdeadbeef }],
    ['its reply (16 bytes: a quarter of the probe)', replyHex, { type: ProbeType.Reply, seq: 7, token: 0xdeadbeef }],
  ])('%s', (_why, hex, p) => {
    expect(toHex(encodeProbe(p))).toBe(hex);
    expect(decodeProbe(fromHex(hex))).toEqual(p);
  });

  it('the reply echoes seq and token and is smaller than the probe', () => {
    const r = probeReply(decodeProbe(fromHex(probeHex)));
    expect(toHex(r)).toBe(replyHex);
    expect(r.byteLength * 4).toBe(PROBE_SIZE);
  });

  it.each([
    ['a TRANSPORT datagram', '04000000' + '00'.repeat(60)],
    ['a probe one byte short', probeHex.slice(0, -2)],
    ['a reserved byte set', '50000100' + probeHex.slice(8)],
    ['padding not zero', probeHex.slice(0, -2) + '01'],
    ['a reply of probe size', '51' + probeHex.slice(2)],
  ])('refuses %s', (_why, hex) => {
    expect(() => decodeProbe(fromHex(hex))).toThrow(expect.objectContaining({ code: 'PROBE_MALFORMED' }));
  });

  it('pins the type names', () => {
    expect(PROBE_TYPE_NAMES).toEqual({ 0x50: 'TRANSPORT_PROBE', 0x51: 'TRANSPORT_PROBE_REPLY' });
    expect(probeTypeOf(fromHex(replyHex))).toBe(ProbeType.Reply);
  });

  it('fuzz', () => {
    const ok = fuzzCodec({
      seed: 2121,
      iterations: 5000,
      input: (rng) => {
        const d = rng.bytes(rng.chance(0.5) ? (rng.chance(0.5) ? 64 : 16) : rng.int(80));
        withTypeHeader(rng, d, rng.chance(0.5) ? 0x50 : 0x51);
        if (rng.chance(0.7)) d.fill(0, 12);
        return d;
      },
      decode: decodeProbe,
      encode: encodeProbe,
    });
    expect(ok).toBeGreaterThan(500);
  });
});
