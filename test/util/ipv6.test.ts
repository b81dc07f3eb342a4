// util/ipv6.ts: IPv6 text <-> 16 bytes through ip-num, canonical RFC 5952 text out.
import { describe, expect, it } from 'vitest';
import { canonicalIpv6, formatIpv6, isIpv4Mapped, mappedIpv4, parseIpv6 } from '../../src/util/ipv6.js';
import { toHex } from '../../src/util/bytes.js';

describe('ipv6 text', () => {
  it.each([
    ['the longest zero run becomes ::', '2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['upper case and leading zeros are dropped', '2001:0DB8::0001', '2001:db8::1'],
    ['a single zero group stays (RFC 5952 4.2.2)', '2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['of two equal runs the first is compressed (4.2.3)', '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['the unspecified address', '0:0:0:0:0:0:0:0', '::'],
    ['loopback', '::1', '::1'],
    ['a trailing run', '1:0:0:0:0:0:0:0', '1::'],
  ])('%s', (_why, text, canonical) => {
    expect(canonicalIpv6(text)).toBe(canonical);
  });

  it.each([
    ['an IPv4 address', '192.0.2.1'],
    ['a zone id (means nothing to another host)', 'fe80::1%eth0'],
    ['two ::', '1::2::3'],
    ['nine groups', '1:2:3:4:5:6:7:8:9'],
    ['a non-hex digit', 'g::1'],
    ['empty', ''],
  ])('refuses %s', (_why, text) => {
    expect(parseIpv6(text)).toBeUndefined();
  });

  it('formats the bytes it parsed, and knows a v4-mapped address', () => {
    const b = parseIpv6('::ffff:192.0.2.1')!;
    expect(toHex(b)).toBe('00000000000000000000ffffc0000201');
    expect(isIpv4Mapped(b)).toBe(true);
    expect(mappedIpv4(b)).toBe(0xc0000201);
    expect(isIpv4Mapped(parseIpv6('2001:db8::1')!)).toBe(false);
    expect(formatIpv6(parseIpv6('2001:db8:1:2:3:4:5:6')!)).toBe('2001:db8:1:2:3:4:5:6');
  });
});
