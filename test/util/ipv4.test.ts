// The one IPv4 parser (src/util/ipv4.ts): a table of what it accepts and refuses and why, and a
// seeded differential run against ip-num's validator, whose accepted set it replaced on the hot path.
import { describe, expect, it } from 'vitest';
import { IPv4, Validator } from 'ip-num';
import { ipv4ToU32, parseIpv4, u32ToIpv4 } from '../../src/util/ipv4.js';
import { Rng } from '../fakes/rng.js';

describe('parseIpv4', () => {
  it.each<[why: string, input: string, want: number | undefined]>([
    ['an overlay address', '10.9.0.2', 0x0a090002],
    ['the top of the range stays unsigned', '255.255.255.255', 0xffffffff],
    ['all zeros', '0.0.0.0', 0],
    ['a documentation address', '192.0.2.1', 0xc0000201],
    ['three octets are not an address', '1.2.3', undefined],
    ['five octets are not an address', '1.2.3.4.5', undefined],
    ['an empty octet', '1..3.4', undefined],
    ['a trailing dot', '1.2.3.4.', undefined],
    ['an octet above 255', '1.2.3.256', undefined],
    ['four digits', '1.2.3.0255', undefined],
    ['a leading zero (octal to inet_aton)', '010.0.0.1', undefined],
    ['a leading zero in the last octet', '1.2.3.04', undefined],
    ['a double zero', '00.1.2.3', undefined],
    ['leading space', ' 1.2.3.4', undefined],
    ['trailing newline', '1.2.3.4\n', undefined],
    ['a sign', '+1.2.3.4', undefined],
    ['hex', '1.2.3.0x1', undefined],
    ['full-width digits', '\uff11.2.3.4', undefined],
    ['a port', '1.2.3.4:80', undefined],
    ['IPv6', '2001:db8::1', undefined],
    ['empty', '', undefined],
  ])('%s: %j', (_why, input, want) => {
    expect(parseIpv4(input)).toBe(want);
    if (want === undefined) expect(() => ipv4ToU32(input)).toThrow(TypeError);
    else expect(ipv4ToU32(input)).toBe(want);
  });

  it('round-trips through u32ToIpv4', () => {
    const rng = new Rng(18);
    for (let i = 0; i < 2000; i++) {
      const n = Math.floor(rng.next() * 2 ** 32);
      expect(parseIpv4(u32ToIpv4(n))).toBe(n);
    }
  });

  it('accepts exactly what ip-num accepts, with the same value (seeded near-miss strings)', () => {
    const rng = new Rng(0x1b4);
    const alphabet = '0123456789012345678901234567890123456789....  x:-';
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let s = '';
      for (let k = 1 + rng.int(16); k > 0; k--) s += alphabet[rng.int(alphabet.length)];
      if (rng.chance(0.5)) s = [0, 1, 2, 3].map(() => String(rng.int(300)).padStart(rng.chance(0.1) ? 2 : 1, '0')).join('.');
      const [ok] = Validator.isValidIPv4String(s);
      const want = ok ? Number(IPv4.fromString(s).value) : undefined;
      expect(parseIpv4(s), s).toBe(want);
      if (ok) accepted++;
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
