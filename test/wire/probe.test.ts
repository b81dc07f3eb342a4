// wire/probe.ts: golden bytes both ways, refusals, the type-name map, and the seeded fuzz loop.
import { describe, expect, it } from 'vitest';
import { decodeProbe, encodeProbe, probeTypeOf, PROBE_REPLY_SIZE, PROBE_SIZE, PROBE_TYPE_NAMES, ProbeType } from '../../src/wire/probe.js';
import { sealProbe, sealProbeReply, transportProbeKey } from '../../src/crypto/transport-probe.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { fuzzCodec, withTypeHeader } from '../helpers/fuzz.js';

const mac = 'a1'.repeat(16);
const probeHex = '50000000' + '00000007' + 'deadbeef' + '00'.repeat(36) + mac;
const replyHex = '51000000' + '00000007' + 'deadbeef' + '00000000' + mac;
const macBytes = fromHex(mac);
/** Sealed with transportProbeKey(32 x 0x01), seq 7, token 0xdeadbeef (crypto/transport-probe.ts). */
const GOLDEN_SEALED_PROBE = '50000000' + '00000007' + 'deadbeef' + '00'.repeat(36) + '5504cc0eb75b67bbfc0c857e65ef2942';
const GOLDEN_SEALED_REPLY = '51000000' + '00000007' + 'deadbeef' + '00000000' + 'e2b6aa6b10d1eb54797dc0a5e31d466f';

describe('transport probe codec', () => {
  it.each([
    ['a probe (64 bytes, zero padded, MAC last)', probeHex, { type: ProbeType.Probe, seq: 7, token: 0xdeadbeef, mac: macBytes }],
    ['its reply (32 bytes: half the probe, MAC last)', replyHex, { type: ProbeType.Reply, seq: 7, token: 0xdeadbeef, mac: macBytes }],
  ])('%s', (_why, hex, p) => {
    expect(toHex(encodeProbe(p))).toBe(hex);
    expect(decodeProbe(fromHex(hex))).toEqual(p);
  });

  it('sealed: the reply echoes seq and token and is half the probe; golden MACs', () => {
    const key = transportProbeKey(new Uint8Array(32).fill(1));
    const p = sealProbe(key, 7, 0xdeadbeef);
    const r = sealProbeReply(key, decodeProbe(p));
    expect(toHex(p)).toBe(GOLDEN_SEALED_PROBE);
    expect(toHex(r)).toBe(GOLDEN_SEALED_REPLY);
    expect(decodeProbe(r)).toMatchObject({ seq: 7, token: 0xdeadbeef });
    expect(r.byteLength * 2).toBe(PROBE_SIZE);
    expect(PROBE_REPLY_SIZE).toBe(32);
  });

  it.each([
    ['a TRANSPORT datagram', '04000000' + '00'.repeat(60)],
    ['a probe one byte short', probeHex.slice(0, -2)],
    ['a reserved byte set', '50000100' + probeHex.slice(8)],
    ['padding not zero', probeHex.slice(0, 2 * 40) + '01' + probeHex.slice(2 * 41)],
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
        const d = rng.bytes(rng.chance(0.5) ? (rng.chance(0.5) ? 64 : 32) : rng.int(80));
        withTypeHeader(rng, d, rng.chance(0.5) ? 0x50 : 0x51);
        if (rng.chance(0.7)) d.fill(0, 12, d.byteLength - 16);
        return d;
      },
      decode: decodeProbe,
      encode: encodeProbe,
    });
    expect(ok).toBeGreaterThan(500);
  });
});
