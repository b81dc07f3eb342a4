// Scoped maps (issue 24, docs/ACL.md "Scoped maps"): the pure visibility decision (map-scope.ts)
// and its view classes.
import { describe, expect, it } from 'vitest';
import { parseAclPolicy } from '../../src/hub/acl-policy.js';
import { mapIncludes, ScopeClasses, type ScopeSubject } from '../../src/hub/map-scope.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const ip = ipv4ToU32;
const member = (name: string, overlay: string, routes?: Array<[string, number]>): ScopeSubject => ({
  name,
  overlay: ip(overlay),
  ...(routes ? { routes: routes.map(([n, length]) => ({ network: ip(n), length })) } : {}),
});
const a = member('a', '10.9.0.1');
const b = member('b', '10.9.0.2');
const c = member('c', '10.9.0.3');
const anon = member('', '10.9.0.9');
const router = member('r', '10.9.0.7', [['192.168.5.0', 24]]);
const exit = member('x', '10.9.0.8', [['0.0.0.0', 0]]);

const tags = { g1: ['a', 'b'], g2: ['c'], srv: ['b'] };
const policy = (rules: object[]) => parseAclPolicy(JSON.stringify({ tags, rules }), 'acl.json');

describe('mapIncludes', () => {
  it.each([
    ['no policy: everyone', undefined, a, c, true],
    ['no rules: nobody', [], a, b, false],
    ['same tag group', [{ from: 'tag:g1', to: 'tag:g1' }], a, b, true],
    ['other tag group', [{ from: 'tag:g1', to: 'tag:g1' }], a, c, false],
    ['from side sees the to side', [{ from: 'tag:g2', to: 'tag:srv', proto: 'tcp', ports: [22] }], c, b, true],
    ['to side sees the from side (it must answer)', [{ from: 'tag:g2', to: 'tag:srv', proto: 'tcp', ports: [22] }], b, c, true],
    ['two members of the from side do not see each other', [{ from: 'tag:g1', to: 'tag:g2' }], a, b, false],
    ['any to a name', [{ from: '*', to: 'c' }], anon, c, true],
    ['any to a name: two sources do not meet', [{ from: '*', to: 'c' }], a, b, false],
    ['a name to a name', [{ from: 'a', to: 'c' }], c, a, true],
    ['a nameless member matches no tag', [{ from: 'tag:g1', to: '*' }], anon, c, false],
    ['an address to an address', [{ from: '10.9.0.1', to: '10.9.0.3' }], a, c, true],
    ['an address nobody has', [{ from: '10.9.0.1', to: '10.9.0.77' }], a, c, false],
    ['deny rules grant nothing', [{ from: '*', to: '*', action: 'deny' }], a, b, false],
    ['an allow after a deny still counts (over-approximation)', [{ from: 'a', to: 'b', action: 'deny' }, { from: '*', to: '*' }], a, b, true],
    ['a router of a named address', [{ from: 'a', to: '192.168.5.20' }], a, router, true],
    ['a router of another prefix', [{ from: 'a', to: '192.168.6.20' }], a, router, false],
    ['an exit node routes every address', [{ from: 'a', to: '198.51.100.7' }], a, exit, true],
    ['routed source: the router is seen by the destination', [{ from: '192.168.5.20', to: 'c' }], c, router, true],
  ])('%s', (_why, rules, m, x, want) => {
    const p = rules === undefined ? undefined : policy(rules);
    expect(mapIncludes(p, m, x)).toBe(want);
    if (p) {
      // The hub's view classes decide the same.
      const k = new ScopeClasses(p);
      expect(k.sees(k.classOf(m), k.classOf(x))).toBe(want);
    }
  });

  it('is symmetric', () => {
    const p = policy([{ from: 'tag:g2', to: 'tag:srv' }, { from: 'a', to: '192.168.5.1' }]);
    for (const m of [a, b, c, anon, router, exit]) for (const x of [a, b, c, anon, router, exit]) expect(mapIncludes(p, m, x)).toBe(mapIncludes(p, x, m));
  });
});

describe('view classes', () => {
  it('puts members matched by the same selectors in one class: 200 groups of 100 plus servers are 201 classes', () => {
    const groups: Record<string, string[]> = { server: ['s0', 's1'] };
    for (let g = 0; g < 200; g++) groups[`g${g}`] = Array.from({ length: 100 }, (_, i) => `p${g}-${i}`);
    const p = parseAclPolicy(JSON.stringify({
      tags: groups,
      rules: [...Array.from({ length: 200 }, (_, g) => ({ from: `tag:g${g}`, to: `tag:g${g}` })), { from: '*', to: 'tag:server', proto: 'tcp', ports: [443] }],
    }), 'acl.json');
    const k = new ScopeClasses(p);
    const cls = new Map<string, number>();
    for (const [t, names] of Object.entries(groups)) for (const n of names) cls.set(n, k.classOf({ name: n, overlay: 0 }));
    expect(k.count).toBe(201);
    const [p0, p1, q0, s0] = ['p0-0', 'p0-99', 'p1-0', 's0'].map((n) => cls.get(n)!);
    expect(p0).toBe(p1);
    expect(k.sees(p0!, p1!)).toBe(true);
    expect(k.sees(p0!, q0!)).toBe(false);
    expect(k.sees(p0!, s0!)).toBe(true);
    expect(k.sees(s0!, q0!)).toBe(true);
    expect(k.sees(s0!, s0!)).toBe(true); // "*" takes the servers in too
  });
});
