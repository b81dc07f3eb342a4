import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { decodeNatProbe, decodeNatProbeReply, encodeNatProbe, encodeNatProbeReply, natProbeKind } from '../../src/wire/nat-probe.js';

const txid = fromHex('0102030405060708090a0b0c');
const mac = fromHex('f0'.repeat(16));
const probeHex = `20 01 0000 0102030405060708090a0b0c 0000018bcfe56800 ${'00'.repeat(24)} ${'f0'.repeat(16)}`.replace(/\s+/g, '');
const replyHex = `21 00 0000 0102030405060708090a0b0c c6336407 9c40 1b59 ${'00'.repeat(24)} ${'f0'.repeat(16)}`.replace(/\s+/g, '');

describe('nat probe codec', () => {
  it('NAT_PROBE: type, flags, txid, timestamp BE, padding, mac (64 bytes)', () => {
    const m = { flags: 1, txid, timestampMs: 1_700_000_000_000, mac };
    expect(toHex(encodeNatProbe(m))).toBe(probeHex);
    expect(decodeNatProbe(fromHex(probeHex))).toEqual(m);
    expect(natProbeKind(fromHex(probeHex))).toBe('probe');
  });

  it('NAT_PROBE_REPLY: observed endpoint BE and the answering port, same size as the probe', () => {
    const m = { flags: 0, txid, observed: { address: '198.51.100.7', port: 40000 }, hubPort: 7001, mac };
    expect(toHex(encodeNatProbeReply(m))).toBe(replyHex);
    expect(decodeNatProbeReply(fromHex(replyHex))).toEqual(m);
    expect(natProbeKind(fromHex(replyHex))).toBe('reply');
  });

  it.each([
    ['short', probeHex.slice(0, 100)],
    ['reserved byte set', probeHex.slice(0, 4) + '01' + probeHex.slice(6)],
    ['unknown flag', '2002' + probeHex.slice(4)],
    ['padding not zero', probeHex.slice(0, 60) + 'ff' + probeHex.slice(62)],
    ['a reply given as a probe', replyHex],
  ])('rejects a probe: %s', (_why, hex) => {
    expect(() => decodeNatProbe(fromHex(hex))).toThrow(DecodeError);
  });
});
