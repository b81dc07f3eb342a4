// The scoped-map load runs' plan (bench/load/acl-scope.mjs): who should hold whom, and a policy the
// hub accepts whose compiled rules fit one ACL_POLICY for every member (servers' sources are ANY).
import { describe, expect, it } from 'vitest';
import { compareScope, scopedChangeSpec, scopePlan, sparesFor, warmupChangeSpec } from '../../bench/load/acl-scope.mjs';
import { parseAclPolicy } from '../../src/hub/acl-policy.js';
import { compileAclFor, ruleSources, type AclMember } from '../../src/hub/acl-compile.js';
import { ACL_MAX_BYTES, aclPolicyBytes } from '../../src/wire/acl.js';

describe('scopePlan', () => {
  const plan = scopePlan({ peers: 20, servers: 2, groupSize: 6, spares: 1, spareGroup: 1 });

  it('spreads the servers and fills groups in index order', () => {
    expect([0, 15].map((i) => plan.role(i))).toEqual(['server', 'server']);
    expect(plan.groups).toBe(3); // 18 members in groups of 6
    expect([1, 6, 7, 10, 14, 16, 19].map((i) => plan.group(i))).toEqual([0, 0, 1, 1, 2, 2, 2]);
    expect(plan.role(plan.spareServer(0))).toBe('server');
    expect(plan.group(plan.spareMember(0))).toBe(1);
    expect(plan.role(21)).toBeUndefined();
  });

  it.each([
    ['a member sees its group', 1, 2, true],
    ['a member sees a server', 1, 0, true],
    ['a server sees any member', 15, 19, true],
    ['a server sees a server', 0, 15, true],
    ['a member does not see another group', 1, 7, false],
    ['nobody sees itself', 3, 3, false],
    ['a spare server is seen by everybody', 19, 30, true],
    ['the spare member is seen by its group', 9, 31, true],
    ['the spare member is not seen by another group', 1, 31, false],
    ['an index outside the plan is seen by nobody', 0, 25, false],
  ])('%s', (_, a, b, want) => {
    expect(plan.sees(a, b)).toBe(want);
    expect(plan.sees(b, a)).toBe(want);
  });

  it.each([
    [20000, 8],
    [200, 2],
  ])('homes servers on both hubs (%i peers, %i workers alternating two hubs)', (peers, workers) => {
    const p = scopePlan({ peers });
    const per = Math.ceil(peers / workers);
    const hubs = new Set<number>();
    for (let i = 0; i < peers; i++) if (p.role(i) === 'server') hubs.add(Math.floor(i / per) % 2);
    expect(hubs.size).toBe(2);
  });

  it('compareScope counts missing and extra entries among the registered members', () => {
    const members = new Set([0, 1, 2, 3, 7, 15]);
    expect(compareScope(plan, 1, new Set([0, 2, 3, 15]), members)).toEqual({ missing: 0, extra: 0, examples: { missing: [], extra: [] } });
    // Another group's member held (what an unscoped hub sends), two of its own group missing.
    expect(compareScope(plan, 1, new Set([0, 7, 15]), members)).toMatchObject({ missing: 2, extra: 1, examples: { missing: [2, 3], extra: [7] } });
    // A server holds every other member; one it lacks is missing.
    expect(compareScope(plan, 15, new Set([0, 1, 2, 3, 7]), members)).toMatchObject({ missing: 0, extra: 0 });
    expect(compareScope(plan, 15, new Set([0, 1, 2, 3]), members)).toMatchObject({ missing: 1, extra: 0, examples: { missing: [7] } });
    // An entry of a member no longer registered is extra.
    expect(compareScope(plan, 1, new Set([0, 2, 3, 15, 4]), members).extra).toBe(1);
  });

  it('writes a policy the hub parses, each member compiling to one ACL_POLICY under the cap', () => {
    const big = scopePlan({ peers: 2000, servers: 4, groupSize: 100 });
    const policy = parseAclPolicy(JSON.stringify(big.policy()), 'scope.json');
    expect(policy.rules.length).toBe(1 + big.groups);
    const members: AclMember[] = [];
    for (let i = 0; i < 2000; i++) members.push({ overlay: 0x0a090002 + i, name: big.name(i) });
    const sources = ruleSources(policy, members);
    for (const i of [0, 1, 500, 1999]) {
      const rules = compileAclFor(policy, members[i]!, members, sources);
      expect(aclPolicyBytes({ rules })).toBeLessThanOrEqual(ACL_MAX_BYTES);
    }
  });
});

describe('the changes of a scoped run (cluster-load.mjs)', () => {
  it.each([
    ['the two first changes alone need one spare of each kind', 0, 0, 1],
    ['six spreads: two cycles of four', 6, 0, 2],
    ['seven spreads: a third cycle begun', 7, 0, 3],
    ['each warm-up pair its own spare server', 6, 1, 3],
    ['two warm-up pairs', 6, 2, 4],
  ])('%s', (_, spreads, warmups, want) => {
    expect(sparesFor(spreads, warmups)).toBe(want);
  });

  const plan = scopePlan({ peers: 20, servers: 2, groupSize: 6, spares: sparesFor(6, 1), spareGroup: 0 });
  it.each([
    // n, kind, server, hub (cycle 0: server at hub 0, member at hub 1; cycle 1 the other way round)
    [0, 'join', true, 0, plan.spareServer(0)],
    [1, 'leave', true, 0, plan.spareServer(0)],
    [2, 'join', false, 1, plan.spareMember(0)],
    [3, 'leave', false, 1, plan.spareMember(0)],
    [4, 'join', true, 1, plan.spareServer(1)],
    [7, 'leave', false, 0, plan.spareMember(1)],
  ])('measured change %i: %s of a server %s at hub %i', (n, kind, server, at, index) => {
    expect(scopedChangeSpec(plan, n, 2)).toEqual({ kind, server, at, index, key: `${n}` });
  });

  it('warm-up changes use a spare server no measured change uses, seen by every peer', () => {
    const measured = new Set(Array.from({ length: 8 }, (_, n) => scopedChangeSpec(plan, n, 2).index));
    const w = [0, 1].map((k) => warmupChangeSpec(plan, k, 2, 1));
    expect(w.map((s) => [s.kind, s.at, s.key])).toEqual([['join', 0, 'warmup-0'], ['leave', 0, 'warmup-1']]);
    expect(w[0]!.index).toBe(w[1]!.index);
    expect(measured.has(w[0]!.index)).toBe(false);
    expect(plan.role(w[0]!.index)).toBe('server');
    for (let i = 0; i < 20; i++) expect(plan.sees(i, w[0]!.index)).toBe(true);
    // Named in the policy the hubs are given (else the hub would not scope it as a server).
    expect(plan.policy().tags.server).toContain(plan.name(w[0]!.index));
  });

  it('refuses a warm-up change past the spares the plan has', () => {
    expect(() => warmupChangeSpec(plan, 2, 2, 1)).toThrow();
    expect(() => warmupChangeSpec(plan, 0, 2, plan.spares + 1)).toThrow();
  });
});
