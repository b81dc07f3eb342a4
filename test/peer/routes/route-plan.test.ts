// What a peer does with the hub's verdicts (peer/routes/route-plan.ts): installed or not, and why.
import { describe, expect, it } from 'vitest';
import { planRoutes, type PlanInput } from '../../../src/peer/routes/route-plan.js';
import { ipv4ToU32 } from '../../../src/util/ipv4.js';
import { RouteVerdict as V, type ExtRoute } from '../../../src/wire/routes.js';

const A = ipv4ToU32('10.9.0.2');
const B = ipv4ToU32('10.9.0.3');
const C = ipv4ToU32('10.9.0.4');
const names = new Map([[A, 'a'], [C, 'c']]);
const r = (owner: number, cidr: string, verdict = V.ADMITTED): ExtRoute => {
  const [ip, len] = cidr.split('/');
  return { owner, network: ipv4ToU32(ip!), length: Number(len), verdict };
};
const input = (routes: ExtRoute[], o: Partial<PlanInput> = {}): PlanInput => ({ routes, nameOf: (x) => names.get(x), self: B, acceptRoutes: true, ...o });

describe('planRoutes', () => {
  it.each<[string, PlanInput, string, string]>([
    ['admitted and accepted: installed', input([r(A, '192.168.50.0/24')]), 'installed', 'installed'],
    ['admitted, but no --accept-routes', input([r(A, '192.168.50.0/24')], { acceptRoutes: false }), 'not installed', 'this peer runs without --accept-routes'],
    ['not admitted: the hub says why', input([r(A, '192.168.50.0/24', V.NOT_ALLOWED)]), 'not installed', "not admitted: the hub's --allow-routes does not list it for this peer"],
    ['a tie', input([r(A, '192.168.50.0/24', V.TIE)]), 'not installed', 'not admitted: another peer offers the identical prefix (tie)'],
    ['its owner left the map', input([r(ipv4ToU32('10.9.0.9'), '192.168.50.0/24')]), 'not installed', 'its peer is not in the map'],
    ['our own offer', input([r(B, '192.168.60.0/24')]), 'own', 'admitted'],
    ['an exit node we did not select', input([r(A, '0.0.0.0/0')]), 'not installed', 'exit node not selected (--exit-node)'],
    ['the exit node we selected by name', input([r(A, '0.0.0.0/0')], { exitNode: 'a' }), 'installed', 'exit node in use'],
    ['the exit node we selected by address, even without --accept-routes', input([r(A, '0.0.0.0/0')], { exitNode: '10.9.0.2', acceptRoutes: false }), 'installed', 'exit node in use'],
  ])('%s', (_why, i, state, why) => {
    const p = planRoutes(i);
    expect(p.routes[0]).toMatchObject({ state, why });
  });

  it('installs longest prefixes first and only admitted, accepted ones', () => {
    const p = planRoutes(input([r(A, '192.168.0.0/16'), r(C, '192.168.50.0/24'), r(C, '10.1.0.0/16', V.NOT_ALLOWED)]));
    expect(p.install.map((x) => [x.owner, x.length])).toEqual([[C, 24], [A, 16]]);
  });

  it('own admitted prefixes (we forward them); refused ones not', () => {
    const p = planRoutes(input([r(B, '192.168.60.0/24'), r(B, '0.0.0.0/0'), r(B, '172.16.0.0/12', V.NOT_ALLOWED)]));
    expect(p.own).toEqual([{ network: ipv4ToU32('192.168.60.0'), length: 24 }, { network: 0, length: 0 }]);
  });

  it.each<[string, ExtRoute[], string]>([
    ['not admitted', [r(A, '0.0.0.0/0', V.NOT_ALLOWED)], "a's exit node is not admitted: the hub's --allow-routes does not list it for this peer"],
    ['offers only a subnet', [r(A, '192.168.50.0/24')], 'a does not offer an exit node (--advertise-exit-node)'],
    ['unknown', [], 'a offers no exit node or is not in the map'],
  ])('says why the exit node is not in use: %s', (_why, routes, why) => {
    const p = planRoutes(input(routes, { exitNode: 'a' }));
    expect(p.exit).toBeUndefined();
    expect(p.exitWhy).toBe(why);
  });
});
