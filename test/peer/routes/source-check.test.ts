// The widened inner-address checks (peer/routes/source-check.ts).
import { describe, expect, it } from 'vitest';
import { forwardAllowed, sourceAllowed } from '../../../src/peer/routes/source-check.js';
import { ipv4ToU32 } from '../../../src/util/ipv4.js';

const p = (cidr: string) => {
  const [ip, len] = cidr.split('/');
  return { network: ipv4ToU32(ip!), length: Number(len) };
};
const overlay = p('10.9.0.0/24');

describe('sourceAllowed', () => {
  it.each([
    ['no prefixes: only the overlay address (checked by the caller) is allowed', [], '192.168.50.10', false],
    ['inside the admitted LAN', ['192.168.50.0/24'], '192.168.50.10', true],
    ['just outside it', ['192.168.50.0/24'], '192.168.51.10', false],
    ['inside one of several', ['172.16.0.0/12', '192.168.50.0/24'], '172.20.1.1', true],
    ['an exit node in use allows any source', ['0.0.0.0/0'], '203.0.113.10', true],
    ['a /32 route', ['192.168.50.10/32'], '192.168.50.10', true],
  ])('%s', (_why, prefixes, src, want) => {
    expect(sourceAllowed(prefixes.map(p), ipv4ToU32(src))).toBe(want);
  });
});

describe('forwardAllowed', () => {
  it.each([
    ['nothing offered: nothing forwarded', [], '192.168.50.10', false],
    ['our admitted LAN', ['192.168.50.0/24'], '192.168.50.10', true],
    ['outside it', ['192.168.50.0/24'], '8.8.8.8', false],
    ['an admitted exit node forwards anything', ['0.0.0.0/0'], '203.0.113.10', true],
    ['but never another overlay address (no hairpin)', ['0.0.0.0/0'], '10.9.0.7', false],
  ])('%s', (_why, own, dst, want) => {
    expect(forwardAllowed(own.map(p), overlay, ipv4ToU32(dst))).toBe(want);
  });
});
