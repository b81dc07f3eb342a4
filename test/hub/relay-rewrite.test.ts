// The hub's RELAY_TO -> RELAY_FROM rewrite in place (hub/relay-rewrite.ts): the bytes are those
// encodeInner gives for the RELAY_FROM (the wire is unchanged), in the same buffer (no copy).
import { describe, expect, it } from 'vitest';
import { relayFromInPlace } from '../../src/hub/relay-rewrite.js';
import { toHex } from '../../src/util/bytes.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';

describe('relayFromInPlace', () => {
  it.each([
    ['a datagram to 10.9.0.3 from 10.9.0.2', 0x0a090003, 0x0a090002, '0102030405', '210a0900020102030405'],
    ['an overlay with the high bit set (u32, not a negative int)', 0x0a090003, 0xc0a80001, 'ff', '21c0a80001ff'],
    ['an empty datagram (the header alone)', 1, 0xffffffff, '', '21ffffffff'],
  ])('%s', (_why, target, sender, datagramHex, golden) => {
    const datagram = Buffer.from(datagramHex, 'hex');
    const relayTo = encodeInner({ kind: InnerKind.RELAY_TO, overlay: target, datagram });
    const out = relayFromInPlace(relayTo, sender);
    expect(out).toBe(relayTo);
    expect(toHex(out)).toBe(golden);
    expect(toHex(out)).toBe(toHex(encodeInner({ kind: InnerKind.RELAY_FROM, overlay: sender, datagram })));
  });

  it.each([
    ['a RELAY_FROM (already rewritten)', Uint8Array.of(InnerKind.RELAY_FROM, 0, 0, 0, 1)],
    ['shorter than the relay header', Uint8Array.of(InnerKind.RELAY_TO, 0, 0)],
  ])('refuses %s (a caller bug)', (_why, b) => {
    expect(() => relayFromInPlace(b, 1)).toThrow(RangeError);
  });
});
