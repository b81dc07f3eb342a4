// ACL_POLICY_DELTA end to end in one process (docs/ACL.md "Deltas and parts"): what the hub chooses
// to send (acl-delta.ts, pure tables), how a peer applies parts (peer/acl-delta-apply.ts), and the
// distributor (acl-distributor.ts) feeding 300+ receivers (acl-receive.ts -> acl-firewall.ts) through
// the real reliable sender over a channel that loses what the test says: a group of 320 that sees
// itself (a policy of 3 datagrams) stays enforced exactly through joins, leaves and a lost part.
import { describe, expect, it } from 'vitest';
import { compileAclFor } from '../../src/hub/acl-compile.js';
import { aclDiff, aclFullOps, aclSendKind } from '../../src/hub/acl-delta.js';
import { AclDistributor, type AclTarget } from '../../src/hub/acl-distributor.js';
import { parseAclPolicy } from '../../src/hub/acl-policy.js';
import { ReliableSender } from '../../src/link/reliable.js';
import { applyAclDelta } from '../../src/peer/acl-delta-apply.js';
import { AclFirewall } from '../../src/peer/acl-firewall.js';
import { AclReceiver } from '../../src/peer/acl-receive.js';
import { AclAction, AclMode, ACL_POLICY_TYPE, type AclPolicyMessage, type WireAclRule } from '../../src/wire/acl.js';
import { ACL_DELTA_TYPE, AclOpKind, decodeAclDelta, splitAclDelta } from '../../src/wire/acl-delta.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { testLogger } from '../fakes/logger.js';
import { World } from '../vnet/world.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { ipv4TestPacket, IPPROTO_TCP } from '../fakes/ipv4-packet.js';

const rule = (sources: number[] | undefined, over: Partial<WireAclRule> = {}): WireAclRule => ({ rule: 1, action: AclAction.ALLOW, proto: 0, portLo: 0, portHi: 65535, sources, ...over });
const many = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => 0x0a090000 + from + i);

describe('aclDiff (what changed between two compiles of one class)', () => {
  it.each([
    ['a source joined and one left', [rule([1, 2, 3])], [rule([1, 3, 4])], [{ op: AclOpKind.REMOVE, index: 0, sources: [2] }, { op: AclOpKind.ADD, index: 0, sources: [4] }]],
    ['nothing changed: no ops', [rule([1, 2]), rule(undefined, { rule: 2 })], [rule([1, 2]), rule(undefined, { rule: 2 })], []],
    ['from nobody to two', [rule([])], [rule([5, 6])], [{ op: AclOpKind.ADD, index: 0, sources: [5, 6] }]],
    ['a rule more (a reload): not a delta', [rule([1])], [rule([1]), rule([2])], undefined],
    ['ports changed: not a delta', [rule([1])], [rule([1], { portLo: 22, portHi: 22 })], undefined],
    ['listed became any: not a delta', [rule([1])], [rule(undefined)], undefined],
  ])('%s', (_why, a, b, want) => {
    expect(aclDiff(a, b)).toEqual(want);
  });
});

describe('aclSendKind (delta, whole in parts, or the old one-datagram policy)', () => {
  const held = { mode: AclMode.ENFORCE, rules: [rule(many(300))] };
  it.each([
    ['an old peer, policy fits one datagram: ACL_POLICY', false, undefined, AclMode.ENFORCE, [rule(many(100))], 'policy'],
    ['an old peer, 300 sources (1,222 bytes): too large, not sent', false, undefined, AclMode.ENFORCE, [rule(many(300))], 'too-large'],
    ['nothing acked yet (registration): whole', true, undefined, AclMode.ENFORCE, [rule(many(300))], 'full'],
    ['one source joined the 300: delta', true, held, AclMode.ENFORCE, [rule(many(301))], 'delta'],
    ['the rules changed shape (reload): whole', true, held, AclMode.ENFORCE, [rule(many(300)), rule(undefined)], 'full'],
    ['mode changed (policy lifted): whole', true, held, AclMode.OPEN, [], 'full'],
    ['everyone replaced: the delta would be larger than the whole', true, held, AclMode.ENFORCE, [rule(many(300, 1000))], 'full'],
  ])('%s', (_why, deltas, acked, mode, rules, want) => {
    expect(aclSendKind({ deltas, acked, mode, rules }).kind).toBe(want);
  });
});

describe('applyAclDelta (the peer applies a version whole, or not at all)', () => {
  const whole = splitAclDelta({ base: 0, version: 10, mode: AclMode.ENFORCE, nrules: 1 }, aclFullOps([rule(many(500))]));
  const base: AclPolicyMessage = { seq: 0, version: 10, mode: AclMode.ENFORCE, rules: [rule(many(500))] };
  const delta = splitAclDelta({ base: 10, version: 11, mode: AclMode.ENFORCE, nrules: 1 }, aclDiff(base.rules, [rule(many(499, 2))])!);
  it.each([
    ['a whole policy in 2 parts, in any order', undefined, [...whole].reverse(), { ok: true, sources: 500 }],
    ['a delta on the version held', base, delta, { ok: true, sources: 499 }],
    ['a delta on another version', { ...base, version: 9 }, delta, { ok: false, why: 'base' }],
    ['a delta with nothing held', undefined, delta, { ok: false, why: 'base' }],
    ['a whole policy missing a part never defines everything', undefined, [whole[1]!], { ok: false, why: 'malformed' }],
    ['removing a source the peer lacks', { ...base, rules: [rule(many(10, 900))] }, delta, { ok: false, why: 'malformed' }],
  ])('%s', (_why, held, parts, want) => {
    expect(whole).toHaveLength(2);
    const r = applyAclDelta(held, parts);
    if (!r.ok) expect(r).toMatchObject(want);
    else expect({ ok: true, sources: r.policy.rules[0]!.sources!.length }).toEqual(want);
  });
});

/** A hub's distributor and one receiver (receiver + firewall) per member, over a channel with a
 * 10 ms delay that drops what `lose` says; ACKs come back the same way. */
function harness(names: string[], opts: { lose?: (to: string, body: Uint8Array, nth: number) => boolean; old?: Set<string> } = {}) {
  const clock = new ManualClock();
  const tags = { g: Array.from({ length: 400 }, (_, i) => `p${i}`), server: ['s0'] };
  const policy = parseAclPolicy(JSON.stringify({ tags, rules: [{ from: 'tag:g', to: 'tag:g' }, { from: '*', to: 'tag:server', proto: 'tcp', ports: [443] }] }), 'acl.json');
  let members: AclTarget[] = [];
  const peers = new Map<string, { fw: AclFirewall; rx: AclReceiver; rel: ReliableSender; applied: number[] }>();
  const sent = new Map<string, number>();
  const bodies: Array<{ to: string; type: number }> = [];
  const dist = new AclDistributor({
    clock, log: testLogger('acl'), members: () => members, firstVersion: 1000, coalesceMs: 50,
    sendReliable: (id, make, onGiveUp, onSettled) => {
      const p = peers.get(id)!;
      const seq = p.rel.nextSeq();
      const body = Uint8Array.from(make(seq));
      bodies.push({ to: id, type: body[0]! });
      p.rel.track(seq, () => {
        const nth = (sent.get(id) ?? 0) + 1;
        sent.set(id, nth);
        if (opts.lose?.(id, body, nth)) return;
        clock.setTimer(10, () => (body[0] === ACL_DELTA_TYPE ? p.rx.receiveDelta(body) : p.rx.receive(body)));
      }, onGiveUp, onSettled);
    },
  });
  dist.setPolicy(policy);
  let n = 0;
  const join = (name: string): void => {
    const m = { id: `id-${name}`, name, overlay: 0x0a090000 + ++n };
    const applied: number[] = [];
    const fw = new AclFirewall(clock);
    const apply = fw.apply.bind(fw);
    fw.apply = (msg) => {
      applied.push(msg.rules[0]?.sources?.length ?? -1);
      return apply(msg);
    };
    const p = { fw, applied, rel: new ReliableSender(clock), rx: undefined as unknown as AclReceiver };
    p.rx = new AclReceiver(fw, (seq) => clock.setTimer(10, () => p.rel.ack(seq)), testLogger('peer'));
    peers.set(m.id, p);
    members = [...members, m];
    dist.registered(m, true, true, !opts.old?.has(name));
    dist.changed();
  };
  const leave = (name: string): void => {
    members = members.filter((m) => m.name !== name);
    peers.get(`id-${name}`)?.rel.cancelAll();
    peers.delete(`id-${name}`);
    dist.changed();
  };
  for (const name of names) join(name);
  /** Members whose firewall does not hold exactly what the hub compiles for them now. */
  const wrong = (): string[] => members.filter((m) => JSON.stringify(peers.get(m.id)!.fw.held()?.rules) !== JSON.stringify(compileAclFor(policy, m, members))).map((m) => m.name);
  return { clock, dist, join, leave, wrong, peers, bodies, members: () => members };
}

describe('ACL distribution with deltas (hub and 321 receivers in one process)', () => {
  it('a group of 320 that sees itself is enforced exactly at every member through joins and leaves, by deltas', () => {
    const h = harness(['s0', ...Array.from({ length: 320 }, (_, i) => `p${i}`)]);
    h.clock.advance(3_000);
    expect(h.wrong()).toEqual([]);
    expect(h.peers.get('id-p7')!.fw.held()!.rules[0]!.sources).toHaveLength(320);
    expect(h.peers.get('id-p7')!.fw.status()).toMatchObject({ mode: 'enforce', rules: 1 });
    // Joins and leaves: each settles to the exact rules, carried by deltas (one small datagram each).
    const before = h.bodies.length;
    h.join('p350');
    h.join('p351');
    h.leave('p3');
    h.clock.advance(3_000);
    expect(h.wrong()).toEqual([]);
    expect(h.peers.get('id-p7')!.fw.held()!.rules[0]!.sources).toHaveLength(321);
    const after = h.bodies.slice(before);
    // The 319 members who stayed get one delta each (one datagram); the joiners their whole policy.
    const stayed = h.members().filter((m) => m.name !== 's0' && m.name !== 'p350' && m.name !== 'p351').map((m) => m.id);
    expect(stayed).toHaveLength(319);
    for (const id of stayed) expect(after.filter((b) => b.to === id).map((b) => b.type)).toEqual([ACL_DELTA_TYPE]);
    expect(h.dist.counters).toMatchObject({ tooLarge: 0, givenUp: 0 });
    expect(h.dist.counters.deltas).toBeGreaterThanOrEqual(318);
    // The server's rule (from "*") did not change: it got nothing more.
    expect(after.filter((b) => b.to === 'id-s0')).toHaveLength(0);
  });

  it('a lost part is sent again and the version is applied whole once every part is in, never half', () => {
    let dropped = 0;
    const h = harness(['s0', ...Array.from({ length: 320 }, (_, i) => `p${i}`)], {
      // The first send of the second part of p9's whole policy is lost.
      lose: (to, body, _nth) => {
        if (to !== 'id-p9' || body[0] !== ACL_DELTA_TYPE || dropped > 0) return false;
        const m = decodeAclDelta(body);
        if (m.parts < 2 || m.part !== 1) return false;
        dropped++;
        return true;
      },
    });
    h.clock.advance(300);
    const p9 = h.peers.get('id-p9')!;
    // Part 1 is missing: nothing of this version is enforced yet.
    expect(dropped).toBe(1);
    expect(p9.applied.every((n) => n !== 320)).toBe(true);
    h.clock.advance(3_000);
    expect(h.wrong()).toEqual([]);
    // Every policy p9 applied was a complete compile (the group as it was), never a cut list.
    expect(p9.applied.every((n) => n <= 320 && ![1200 / 4, 290, 291].includes(n))).toBe(true);
    expect(p9.fw.held()!.rules[0]!.sources).toHaveLength(320);
  });

  it('a member whose delta base is unknown gets the whole policy; an old peer gets ACL_POLICY or nothing when too large', () => {
    const h = harness(['s0', 'p0', 'p1', 'p9'], { old: new Set(['p9']) });
    h.clock.advance(2_000);
    expect(h.wrong()).toEqual([]);
    expect(new Set(h.bodies.filter((b) => b.to === 'id-p9').map((b) => b.type))).toEqual(new Set([ACL_POLICY_TYPE]));
    // p1 restarts (its firewall is empty): the hub must not send it a delta against its old version.
    const p1 = h.peers.get('id-p1')!;
    p1.fw.newSource();
    h.dist.registered(h.members().find((m) => m.name === 'p1')!, true, true, true);
    h.join('p2');
    h.clock.advance(2_000);
    expect(h.wrong()).toEqual([]);
    expect(p1.rx.counters.baseMismatch).toBe(0);
    // 400 group members: an old peer's 400-source policy does not fit one datagram; it keeps the old one.
    for (let i = 3; i < 400; i++) if (i !== 9) h.join(`p${i}`);
    h.clock.advance(5_000);
    expect(h.dist.counters.tooLarge).toBeGreaterThan(0);
    expect(h.wrong()).toEqual(['p9']); // every delta-capable member exact; the old one keeps its last rules
    expect(h.peers.get('id-p9')!.fw.status()).toMatchObject({ mode: 'enforce', rules: 1 });
  });
});

/** A TCP packet src -> dst:port (what the firewall judges). */
function tcp(src: number, dst: number, port: number): Uint8Array {
  const { p, v } = ipv4TestPacket(src, dst, IPPROTO_TCP, 40, 0);
  v.setUint16(20, 40000);
  v.setUint16(22, port);
  return p;
}

describe('a policy larger than one datagram through real peers (hub, node.ts and Noise sessions in one process)', () => {
  it('b enforces a rule of 300 listed sources (2 parts of ACL_POLICY_DELTA; 1,222 bytes as one ACL_POLICY); an old peer gets nothing and keeps its rules', async () => {
    const w = new World();
    const ip = ipv4ToU32;
    const others = Array.from({ length: 299 }, (_, i) => `10.9.1.${i % 250}`).map((a, i) => (i < 250 ? a : `10.9.2.${i - 250}`));
    const policy = parseAclPolicy(JSON.stringify({ rules: [{ from: ['a', ...others], to: ['b', 'old'], proto: 'tcp', ports: [22] }] }), 'acl.json');
    w.startHub({ acl: policy });
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a' });
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'b' });
    const old = w.peer({ open: '198.51.100.30' }, '10.9.0.4', { name: 'old', aclDeltas: false });
    await w.join(a);
    await w.join(b);
    await w.join(old);
    w.run(2_000);
    expect(b.firewall.status()).toMatchObject({ mode: 'enforce', rules: 1 });
    expect(b.firewall.held()!.rules[0]!.sources).toHaveLength(300);
    expect(b.firewall.admit(tcp(ip('10.9.0.2'), ip('10.9.0.3'), 22))).toBe(true); // a, by name
    expect(b.firewall.admit(tcp(ip('10.9.2.48'), ip('10.9.0.3'), 22))).toBe(true); // the last listed address
    expect(b.firewall.admit(tcp(ip('10.9.0.4'), ip('10.9.0.3'), 22))).toBe(false); // not listed
    expect(b.firewall.admit(tcp(ip('10.9.0.2'), ip('10.9.0.3'), 80))).toBe(false); // another port
    expect(b.aclPolicies.counters).toMatchObject({ wholes: 1, malformed: 0, baseMismatch: 0 });
    // The older peer cannot take parts: the hub does not send it half a policy; it stays as it was.
    expect(old.firewall.status().mode).toBe('open');
    expect(w.hub.status().acl).toMatchObject({ tooLarge: 1 });
  });
});
