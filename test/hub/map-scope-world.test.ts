// Scoped maps end to end in one process (issue 24, docs/ACL.md "Scoped maps"): a hub with a policy
// and real peer nodes on the virtual internet; each peer's map holds whom it may reach or be
// reached by, a reload re-scopes, and the hub refuses to PUNCH a pair whose maps do not hold each other.
import { describe, expect, it } from 'vitest';
import { parseAclPolicy } from '../../src/hub/acl-policy.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { World } from '../vnet/world.js';

const groups = (g1: string[], g2: string[]) =>
  parseAclPolicy(JSON.stringify({ tags: { g1, g2 }, rules: [{ from: 'tag:g1', to: 'tag:g1' }, { from: 'tag:g2', to: 'tag:g2' }] }), 'acl.json');

describe('scoped maps (hub and peers in one process)', () => {
  it('a sees b (same group) and not c; a reload puts c in and b out; no PUNCH across scopes', async () => {
    const w = new World();
    w.startHub({ acl: groups(['a', 'b'], ['c']) });
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a' });
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'b' });
    const c = w.peer({ open: '198.51.100.30' }, '10.9.0.4', { name: 'c' });
    for (const p of [a, b, c]) await w.join(p);
    w.run(1_000);
    const names = (p: typeof a) => p.map.all().map((x) => x.name).sort();
    expect(names(a)).toEqual(['b']);
    expect(names(b)).toEqual(['a']);
    expect(names(c)).toEqual([]);
    expect(w.hub.status().acl).toMatchObject({ maps: 'scoped' });

    // a asks the hub to punch c, whose address it guessed: refused, c's endpoints stay unknown to a.
    a.hubClient.requestPunch(ipv4ToU32('10.9.0.4'));
    w.run(500);
    expect(w.hub.status().controlDrops.punch_out_of_scope).toBe(1);

    w.hub.setAcl(groups(['a', 'c'], ['b']));
    w.run(1_000);
    expect(names(a)).toEqual(['c']);
    expect(names(c)).toEqual(['a']);
    expect(names(b)).toEqual([]);

    w.hub.setAcl(undefined);
    w.run(1_000);
    expect(names(b)).toEqual(['a', 'c']);
    expect(w.hub.status().acl).toMatchObject({ maps: 'full', meanMapEntries: 3 });
  });
});
