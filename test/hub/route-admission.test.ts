// The hub's route admission table (hub/route-admission.ts): allow rules by name or key, ties,
// overlay overlaps, exit nodes, longest prefix left to the receivers.
import { describe, expect, it } from 'vitest';
import { admitRoutes, prefixContains, type AllowRule, type RouteOffer } from '../../src/hub/route-admission.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { RouteVerdict as V } from '../../src/wire/routes.js';

const A = ipv4ToU32('10.9.0.2');
const B = ipv4ToU32('10.9.0.3');
const overlay = { network: ipv4ToU32('10.9.0.0'), length: 24 };
const keyA = 'A'.repeat(43) + '=';

function p(cidr: string): { network: number; length: number } {
  const [ip, len] = cidr.split('/');
  return { network: ipv4ToU32(ip!), length: Number(len) };
}
function offer(owner: number, cidr: string): RouteOffer {
  return { owner, name: owner === A ? 'a' : 'b', key: owner === A ? keyA : 'B'.repeat(43) + '=', ...p(cidr) };
}
function rule(who: string, cidr: string): AllowRule {
  return { who, ...p(cidr) };
}

describe('admitRoutes', () => {
  it.each<[string, RouteOffer[], AllowRule[], V[]]>([
    ['default: nothing is allowed', [offer(A, '192.168.50.0/24')], [], [V.NOT_ALLOWED]],
    ['allowed by name, exact prefix', [offer(A, '192.168.50.0/24')], [rule('a', '192.168.50.0/24')], [V.ADMITTED]],
    ['allowed by base64 key', [offer(A, '192.168.50.0/24')], [rule(keyA, '192.168.50.0/24')], [V.ADMITTED]],
    ['a narrower offer inside an allowed prefix', [offer(A, '192.168.50.128/25')], [rule('a', '192.168.0.0/16')], [V.ADMITTED]],
    ['a wider offer than allowed is refused', [offer(A, '192.168.0.0/16')], [rule('a', '192.168.50.0/24')], [V.NOT_ALLOWED]],
    ["a rule for another peer does not admit", [offer(A, '192.168.50.0/24')], [rule('b', '192.168.50.0/24')], [V.NOT_ALLOWED]],
    ['the identical prefix from two peers is a tie: both refused', [offer(A, '192.168.50.0/24'), offer(B, '192.168.50.0/24')], [rule('a', '192.168.0.0/16'), rule('b', '192.168.0.0/16')], [V.TIE, V.TIE]],
    ['a tie needs both allowed: the unallowed one does not spoil the other', [offer(A, '192.168.50.0/24'), offer(B, '192.168.50.0/24')], [rule('a', '192.168.50.0/24')], [V.ADMITTED, V.NOT_ALLOWED]],
    ['overlapping prefixes of different lengths: both admitted (longest wins at the receiver)', [offer(A, '192.168.0.0/16'), offer(B, '192.168.50.0/24')], [rule('a', '192.168.0.0/16'), rule('b', '192.168.50.0/24')], [V.ADMITTED, V.ADMITTED]],
    ['a prefix inside the overlay is refused even if allowed', [offer(A, '10.9.0.128/25')], [rule('a', '10.0.0.0/8')], [V.OVERLAPS_OVERLAY]],
    ['a prefix covering the overlay is refused', [offer(A, '10.0.0.0/8')], [rule('a', '10.0.0.0/8')], [V.OVERLAPS_OVERLAY]],
    ['an exit node offer needs 0.0.0.0/0 allowed', [offer(A, '0.0.0.0/0')], [rule('a', '192.168.0.0/16')], [V.NOT_ALLOWED]],
    ['an exit node allowed', [offer(A, '0.0.0.0/0')], [rule('a', '0.0.0.0/0')], [V.ADMITTED]],
    ['admitting the exit node does not admit every subnet', [offer(A, '192.168.60.0/24')], [rule('a', '0.0.0.0/0')], [V.NOT_ALLOWED]],
    ['two exit nodes are no tie', [offer(A, '0.0.0.0/0'), offer(B, '0.0.0.0/0')], [rule('a', '0.0.0.0/0'), rule('b', '0.0.0.0/0')], [V.ADMITTED, V.ADMITTED]],
  ])('%s', (_why, offers, rules, verdicts) => {
    expect(admitRoutes(offers, rules, overlay).map((r) => r.verdict)).toEqual(verdicts);
  });

  it('sorts by owner then prefix', () => {
    const r = admitRoutes([offer(B, '10.1.0.0/16'), offer(A, '192.168.50.0/24'), offer(A, '172.16.0.0/12')], [], overlay);
    expect(r.map((x) => [x.owner, x.network])).toEqual([[A, ipv4ToU32('172.16.0.0')], [A, ipv4ToU32('192.168.50.0')], [B, ipv4ToU32('10.1.0.0')]]);
  });
});

describe('prefixContains', () => {
  it.each([
    ['0.0.0.0/0', '192.168.50.0/24', true],
    ['192.168.0.0/16', '192.168.50.0/24', true],
    ['192.168.50.0/24', '192.168.50.0/24', true],
    ['192.168.50.0/24', '192.168.0.0/16', false],
    ['192.168.51.0/24', '192.168.50.0/24', false],
  ])('%s contains %s: %s', (outer, inner, want) => {
    expect(prefixContains(p(outer), p(inner))).toBe(want);
  });
});
