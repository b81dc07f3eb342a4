// util/ipv6.ts: parsing through ip-num, RFC 5952 formatting, prefix comparison, and the default
// overlay /64 derived from the network secret.
import { describe, expect, it } from 'vitest';
import { canonicalIpv6, formatIpv6, maskIpv6, parseIpv6, samePrefix6, ulaPrefixFromSecret } from '../../src/util/ipv6-prefix.js';

describe('parse and format', () => {
  it.each([
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs (RFC 5952 4.2.3)
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not shortened
    ['::', '::'],
    ['fd12:3456:789a:1::', 'fd12:3456:789a:1::'],
  ])('%s -> %s', (input, want) => {
    expect(canonicalIpv6(input)).toBe(want);
  });

  it.each(['10.9.0.1', 'fd00::1::2', 'fd00:::1', 'g::1', '', '1:2:3:4:5:6:7:8:9', 'fd00::1/64'])('refuses %j', (s) => {
    expect(parseIpv6(s)).toBeUndefined();
  });

  it('round-trips 16 bytes', () => {
    const b = Uint8Array.from({ length: 16 }, (_, i) => (i * 37) & 0xff);
    expect(parseIpv6(formatIpv6(b))).toEqual(b);
  });
});

describe('prefixes', () => {
  const a = parseIpv6('fd00:1:2:3::5')!;
  it.each([
    [64, 'fd00:1:2:3:ffff::', true],
    [64, 'fd00:1:2:4::5', false],
    [63, 'fd00:1:2:2::', true],
    [128, 'fd00:1:2:3::5', true],
    [128, 'fd00:1:2:3::6', false],
    [0, '::', true],
  ])('/%i vs %s', (len, other, same) => {
    expect(samePrefix6(a, 0, parseIpv6(other)!, 0, len)).toBe(same);
  });

  it('masks host bits', () => {
    expect(formatIpv6(maskIpv6(a, 64))).toBe('fd00:1:2:3::');
    expect(formatIpv6(maskIpv6(a, 20))).toBe('fd00::');
  });
});

describe('the default --network6', () => {
  it('is a ULA /64 (fd00::/8), the same for one secret, different for another', () => {
    const one = ulaPrefixFromSecret('correct horse battery staple');
    expect(one).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
    expect(ulaPrefixFromSecret('correct horse battery staple')).toBe(one);
    expect(ulaPrefixFromSecret('another network')).not.toBe(one);
  });
});
