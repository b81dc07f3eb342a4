// The hub's ACL: the policy file validated with one-line errors naming the file and rule
// (acl-policy.ts), compiled per receiving member (acl-compile.ts), and distributed in process to
// peers that enforce it (acl-distributor.ts -> node.ts -> acl-firewall.ts), reload included.
import { describe, expect, it } from 'vitest';
import { aclTargetKey, compileAclFor, ruleSources } from '../../src/hub/acl-compile.js';
import { parseAclPolicy } from '../../src/hub/acl-policy.js';
import { aclWindowMs } from '../../src/hub/acl-distributor.js';
import { AclReceiver } from '../../src/peer/acl-receive.js';
import { AclFirewall } from '../../src/peer/acl-firewall.js';
import { ConfigError } from '../../src/util/errors.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { ACL_MAX_BYTES, AclAction, encodeAclPolicy, AclMode } from '../../src/wire/acl.js';
import { encodeInner, InnerKind } from '../../src/wire/inner.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { World } from '../vnet/world.js';

const ip = ipv4ToU32;
const webPolicy = JSON.stringify({
  tags: { web: ['b'] },
  rules: [{ from: '*', to: 'tag:web', proto: 'tcp', ports: [80] }],
});

describe('parseAclPolicy', () => {
  it.each([
    ['not JSON', '{', 'acl.json: not JSON'],
    ['a list instead of an object', '[]', 'acl.json: expected an object'],
    ['an unknown top-level key', '{"rules": [], "rule": []}', 'unknown key "rule"'],
    ['rules missing', '{}', '"rules" must be a list'],
    ['a rule without "to"', '{"rules": [{"from": "*"}]}', 'acl.json: rule 1: "to" is missing'],
    ['a misspelt key names the rule', '{"rules": [{"from": "*", "to": "*"}, {"from": "*", "to": "*", "port": 80}]}', 'acl.json: rule 2: unknown key "port"'],
    ['an undefined tag', '{"rules": [{"from": "*", "to": "tag:db"}]}', 'rule 1: "to": tag "db" is not defined'],
    ['an unknown protocol', '{"rules": [{"from": "*", "to": "*", "proto": "sctp"}]}', 'rule 1: "proto" must be tcp, udp, icmp or any'],
    ['ports without tcp/udp', '{"rules": [{"from": "*", "to": "*", "ports": 22}]}', 'rule 1: "ports" needs "proto"'],
    ['a port out of range', '{"rules": [{"from": "*", "to": "*", "proto": "tcp", "ports": [70000]}]}', 'rule 1: port 70000'],
    ['a reversed range', '{"rules": [{"from": "*", "to": "*", "proto": "udp", "ports": "90-80"}]}', 'rule 1: port "90-80"'],
    ['an unknown action', '{"rules": [{"from": "*", "to": "*", "action": "drop"}]}', 'rule 1: "action" must be allow or deny'],
    ['a bad tag name', '{"tags": {"a b": []}, "rules": []}', 'tag "a b"'],
  ])('refuses %s in one line naming the file and rule', (_why, text, want) => {
    let err: unknown;
    try {
      parseAclPolicy(text, 'acl.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG');
    expect((err as Error).message).toContain(want);
    expect((err as Error).message).not.toContain('\n');
  });

  it('reads tags, selectors, protocols, port lists and actions', () => {
    const p = parseAclPolicy(JSON.stringify({ tags: { web: ['b'] }, rules: [
      { from: ['a', 'tag:web', '10.9.0.9'], to: '*', proto: 'udp', ports: [53, '8000-8100'], action: 'deny', comment: 'x' },
      { from: '*', to: 'b' },
    ] }), 'f');
    expect(p.rules).toEqual([
      { rule: 1, from: [{ name: 'a' }, { tag: 'web' }, { address: ip('10.9.0.9') }], to: [{ any: true }], proto: 17, ports: [[53, 53], [8000, 8100]], action: AclAction.DENY },
      { rule: 2, from: [{ any: true }], to: [{ name: 'b' }], proto: 0, ports: [[0, 65535]], action: AclAction.ALLOW },
    ]);
  });
});

describe('compileAclFor', () => {
  const members = [
    { overlay: ip('10.9.0.2'), name: 'a' },
    { overlay: ip('10.9.0.3'), name: 'b' },
    { overlay: ip('10.9.0.4'), name: 'c' },
  ];
  const policy = parseAclPolicy(JSON.stringify({
    tags: { web: ['b'], admins: ['a'] },
    rules: [
      { from: '*', to: 'tag:web', proto: 'tcp', ports: [80, 443] },
      { from: 'tag:admins', to: '*', proto: 'tcp', ports: 22 },
      { from: ['c', 'gone'], to: 'a' },
    ],
  }), 'f');
  it.each([
    ['b (tag web): 80 and 443 from anyone, ssh from the admins', 'b', [
      { rule: 1, action: AclAction.ALLOW, proto: 6, portLo: 80, portHi: 80, sources: undefined },
      { rule: 1, action: AclAction.ALLOW, proto: 6, portLo: 443, portHi: 443, sources: undefined },
      { rule: 2, action: AclAction.ALLOW, proto: 6, portLo: 22, portHi: 22, sources: [ip('10.9.0.2')] },
    ]],
    ['a: ssh from itself (the admin), anything from c; a member not online ("gone") adds nothing', 'a', [
      { rule: 2, action: AclAction.ALLOW, proto: 6, portLo: 22, portHi: 22, sources: [ip('10.9.0.2')] },
      { rule: 3, action: AclAction.ALLOW, proto: 0, portLo: 0, portHi: 65535, sources: [ip('10.9.0.4')] },
    ]],
  ])('%s', (_why, name, want) => {
    expect(compileAclFor(policy, members.find((m) => m.name === name)!, members)).toEqual(want);
  });
});

describe('aclWindowMs (the next flush is spaced by the last one\'s cost)', () => {
  it.each([
    [50, 0, 50],
    [50, 10, 50],
    [50, 25, 50],
    [50, 30.2, 61],
    [50, 480, 960],
  ])('base %d ms, last flush %d ms -> %d ms', (base, last, want) => {
    expect(aclWindowMs(base, last)).toBe(want);
  });
});

describe('ACL distribution (hub and peers in one process)', () => {
  it('peers get their rules at registration, a reload within one map delta, and a new member in the sources', async () => {
    const w = new World();
    const tagged = (names: string[]) => parseAclPolicy(JSON.stringify({ tags: { web: names }, rules: [{ from: 'a', to: 'tag:web', proto: 'tcp', ports: [80] }] }), 'acl.json');
    w.startHub({ acl: tagged(['b']) });
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'b' });
    await w.join(b);
    expect(b.firewall.status()).toMatchObject({ mode: 'enforce', rules: 1 });
    const v1 = b.firewall.status().version;
    // a joins: b's rule now names a's address (a new source) -> b gets a newer policy.
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a' });
    await w.join(a);
    w.run(500);
    expect(b.firewall.status().version).toBeGreaterThan(v1);
    expect(a.firewall.status()).toMatchObject({ mode: 'enforce', rules: 0 });
    // SIGHUP with a (web) tagged too; then no policy at all: both reach the peers.
    w.hub.setAcl(tagged(['a', 'b']));
    w.run(500);
    expect(a.firewall.status().rules).toBe(1);
    w.hub.setAcl(undefined);
    w.run(500);
    expect([a.firewall.status().mode, b.firewall.status().mode]).toEqual(['open', 'open']);
    expect(w.hub.status().acl).toMatchObject({ enforcing: 2 });
  });

  it('a policy from another peer (not the hub) is dropped, not applied', async () => {
    const w = new World();
    w.startHub({ acl: parseAclPolicy(webPolicy, 'acl.json') });
    const a = w.peer({ open: '198.51.100.10' }, '10.9.0.2', { name: 'a' });
    const b = w.peer({ open: '198.51.100.20' }, '10.9.0.3', { name: 'b' });
    await w.join(a);
    await w.join(b);
    w.run(3_000);
    const before = b.firewall.status().version;
    const forged = encodeAclPolicy({ seq: 1, version: before + 100, mode: AclMode.OPEN, rules: [] });
    a.link.send(b.link.publicKey, encodeInner({ kind: InnerKind.CONTROL, body: forged }));
    w.run(1_000);
    expect(b.firewall.status()).toMatchObject({ mode: 'enforce', version: before });
    expect(b.drops.unknownKind).toBeGreaterThan(0);
  });

  it('a truncated policy from the hub is counted and not ACKed; a stale one is ACKed and ignored', () => {
    const fw = new AclFirewall(new ManualClock());
    const acks: number[] = [];
    const r = new AclReceiver(fw, (s) => acks.push(s), testLogger());
    const good = encodeAclPolicy({ seq: 7, version: 10, mode: AclMode.ENFORCE, rules: [] });
    r.receive(good.subarray(0, 11));
    r.receive(good);
    r.receive(encodeAclPolicy({ seq: 8, version: 9, mode: AclMode.OPEN, rules: [] }));
    expect(r.counters).toMatchObject({ applied: 1, stale: 1, malformed: 1 });
    expect(acks).toEqual([7, 8]);
    expect(fw.status().mode).toBe('enforce');
  });
});

describe('ACL compile at 20,000 members (scoped maps measurement, issue 24)', () => {
  it('a group rule lists its 100 members, "from *" compiles to ANY, and each member\'s policy fits one message', () => {
    const tags: Record<string, string[]> = { server: ['s0', 's1'] };
    for (let g = 0; g < 200; g++) tags[`g${g}`] = Array.from({ length: 100 }, (_, i) => `p${g}-${i}`);
    const policy = parseAclPolicy(JSON.stringify({
      tags,
      rules: [...Array.from({ length: 200 }, (_, g) => ({ from: `tag:g${g}`, to: `tag:g${g}` })), { from: '*', to: 'tag:server', proto: 'tcp', ports: [443] }],
    }), 'acl.json');
    const members = Object.values(tags).flat().map((name, i) => ({ name, overlay: 0x0a090000 + i + 1 }));
    const sources = ruleSources(policy, members);
    expect(sources[0]).toHaveLength(100);
    expect(sources[0]).toEqual(members.slice(2, 102).map((m) => m.overlay));
    expect(sources[200]).toBeUndefined(); // ANY
    const peer = compileAclFor(policy, members.find((m) => m.name === 'p7-3')!, members, sources);
    const server = compileAclFor(policy, members.find((m) => m.name === 's1')!, members, sources);
    expect(peer).toHaveLength(1);
    expect(server).toEqual([{ rule: 201, action: AclAction.ALLOW, proto: 6, portLo: 443, portHi: 443, sources: undefined }]);
    for (const rules of [peer, server]) expect(encodeAclPolicy({ seq: 1, version: 1, mode: AclMode.ENFORCE, rules }).byteLength).toBeLessThanOrEqual(ACL_MAX_BYTES);
    expect(aclTargetKey(policy, members[5]!)).toBe(aclTargetKey(policy, members[6]!)); // one compile per group
  });
});
