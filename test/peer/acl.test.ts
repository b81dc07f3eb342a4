// The receiving peer's ACL: the pure verdict (acl-decide.ts) as a table, the bounded flow table with
// expiry (flow-table.ts) on a ManualClock, and the firewall as inbound stage 6a of the data plane.
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/arq/constants.js';
import { aclVerdict, emptyFacts, outboundFlowKey, packetFacts, replyFlowKey, type AclPolicy, type AclRule, type PacketFacts } from '../../src/peer/acl-decide.js';
import type { PeerSender } from '../../src/peer/channel.js';
import { DataPlane } from '../../src/peer/dataplane.js';
import { FlowTable } from '../../src/peer/flow-table.js';
import type { PeerInfo } from '../../src/peer/peer-map.js';
import { RemotePeers } from '../../src/peer/peer-table.js';
import type { PacketBatch } from '../../src/tun/device.js';
import { setIpv4Checksum } from '../../src/tun/ip-packet.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { AclAction, AclMode, type AclPolicyMessage } from '../../src/wire/acl.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';

const ip = ipv4ToU32;
const A = ip('10.9.0.2'); // us: the receiving peer
const B = ip('10.9.0.3');
const C = ip('10.9.0.4');
const TCP = 6;
const UDP = 17;
const ICMP = 1;

/** An IPv4 packet src -> dst; TCP/UDP with ports, ICMP with type and echo id. */
function packet(src: number, dst: number, proto: number, a = 0, b = 0, o: { fragOffset?: number } = {}): Uint8Array {
  const p = new Uint8Array(60);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.byteLength);
  v.setUint16(6, o.fragOffset ?? 0);
  p[8] = 64;
  p[9] = proto;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  if (proto === ICMP) {
    p[20] = a; // type
    v.setUint16(24, b); // echo id
  } else {
    v.setUint16(20, a);
    v.setUint16(22, b);
  }
  setIpv4Checksum(p);
  return p;
}

function facts(p: Uint8Array): PacketFacts {
  const f = emptyFacts();
  expect(packetFacts(p, f)).toBe(true);
  return f;
}

const rule = (n: number, over: Partial<AclRule>): AclRule => ({ rule: n, action: AclAction.ALLOW, proto: 0, portLo: 0, portHi: 65535, sources: undefined, ...over });
/** "tag web may receive tcp/80 from everyone; ssh only from C; UDP from B denied by rule 3". */
const policy: AclPolicy = {
  mode: AclMode.ENFORCE,
  rules: [
    rule(1, { proto: TCP, portLo: 80, portHi: 80 }),
    rule(2, { proto: TCP, portLo: 22, portHi: 22, sources: new Set([C]) }),
    rule(3, { proto: UDP, action: AclAction.DENY, sources: new Set([B]) }),
    rule(4, { proto: ICMP, sources: new Set([C]) }),
  ],
};

describe('aclVerdict', () => {
  it.each([
    ['no policy on the hub: everything passes', { mode: AclMode.OPEN, rules: [] }, packet(B, A, TCP, 5000, 22), false, { allow: true, by: 'open' }],
    ['tcp/80 from anyone: rule 1', policy, packet(B, A, TCP, 40000, 80), false, { allow: true, by: 1 }],
    ['ssh from B: no rule allows it, default deny', policy, packet(B, A, TCP, 40000, 22), false, { allow: false, by: 'default' }],
    ['ssh from C: rule 2 names C', policy, packet(C, A, TCP, 40000, 22), false, { allow: true, by: 2 }],
    ['UDP from B: rule 3 denies (counted under rule 3)', policy, packet(B, A, UDP, 53, 5353), false, { allow: false, by: 3 }],
    ['UDP from C: no rule, default deny', policy, packet(C, A, UDP, 53, 5353), false, { allow: false, by: 'default' }],
    ['a reply of our own flow passes without a rule', policy, packet(B, A, TCP, 22, 40000), true, { allow: true, by: 'flow' }],
    ['a reply of our own flow passes even where a deny rule matches', policy, packet(B, A, UDP, 53, 5353), true, { allow: true, by: 'flow' }],
    ['ping from C: rule 4', policy, packet(C, A, ICMP, 8, 7), false, { allow: true, by: 4 }],
    ['ping from B: default deny', policy, packet(B, A, ICMP, 8, 7), false, { allow: false, by: 'default' }],
    ['a non-first fragment has no ports: a port rule cannot match', policy, packet(B, A, TCP, 40000, 80, { fragOffset: 100 }), false, { allow: false, by: 'default' }],
    ['an empty policy (ENFORCE, no rules) denies all', { mode: AclMode.ENFORCE, rules: [] }, packet(C, A, TCP, 1, 80), false, { allow: false, by: 'default' }],
  ] as const)('%s', (_why, pol, p, reply, want) => {
    expect(aclVerdict(pol as AclPolicy, facts(p), reply)).toEqual(want);
  });
});

describe('flow keys', () => {
  it.each([
    ['TCP: our port and theirs, mirrored by the reply', packet(A, B, TCP, 40000, 22), packet(B, A, TCP, 22, 40000), true],
    ['UDP likewise', packet(A, B, UDP, 5353, 53), packet(B, A, UDP, 53, 5353), true],
    ['another client port is another flow', packet(A, B, TCP, 40000, 22), packet(B, A, TCP, 22, 40001), false],
    ['ping out, echo reply with the same id back', packet(A, B, ICMP, 8, 7), packet(B, A, ICMP, 0, 7), true],
    ['an echo reply with another id answers nothing', packet(A, B, ICMP, 8, 7), packet(B, A, ICMP, 0, 8), false],
    ['TCP out does not open UDP back', packet(A, B, TCP, 53, 53), packet(B, A, UDP, 53, 53), false],
  ] as const)('%s', (_why, out, back, same) => {
    expect(outboundFlowKey(facts(out)) === replyFlowKey(facts(back))).toBe(same);
  });

  it('ICMP errors answer any flow to their sender; an echo request opens one, a reply does not', () => {
    expect(replyFlowKey(facts(packet(B, A, ICMP, 3, 0)))).toBe('any');
    expect(outboundFlowKey(facts(packet(A, B, ICMP, 0, 7)))).toBeUndefined();
  });
});

describe('FlowTable', () => {
  it('expires idle flows and forgets them', () => {
    const t = new FlowTable(10);
    t.note(B, 1, 1000, 0);
    expect(t.has(B, 1, 999)).toBe(true);
    expect(t.hasRemote(B, 999)).toBe(true);
    expect(t.has(B, 1, 1000)).toBe(false);
    expect(t.size).toBe(0);
  });

  it('is bounded: full of expired flows it sweeps, full of live ones the oldest goes', () => {
    const t = new FlowTable(3);
    for (let k = 0; k < 3; k++) t.note(B, k, 100, 0);
    t.note(C, 9, 10_000, 200); // all three expired: swept
    expect(t.size).toBe(1);
    t.note(C, 10, 10_000, 200);
    t.note(C, 11, 10_000, 200);
    t.note(B, 12, 10_000, 300); // full of live flows, swept less than 1 s ago: evict the oldest
    expect([t.size, t.evictions, t.has(C, 9, 300), t.has(B, 12, 300)]).toEqual([3, 1, false, true]);
  });
});

describe('the firewall as inbound stage 6a', () => {
  function info(overlay: number, key: number): PeerInfo {
    const publicKey = new Uint8Array(32).fill(key);
    return { publicKey, id: Buffer.from(publicKey).toString('hex'), overlay, name: '', bootId: 9n, reflexive: { address: '0.0.0.0', port: 0 }, lan: [] };
  }
  function setup() {
    const clock = new ManualClock();
    const table = new RemotePeers({ bootId: 1n, clock, random01: () => 0.5 });
    const b = table.upsert(info(B, 3));
    const sender: PeerSender = { send: () => true };
    const written: Uint8Array[] = [];
    const tun = { write: (p: Uint8Array) => (written.push(p), true) };
    const dp = new DataPlane({ tun, localAddress: A, prefixLength: 24, mtu: 1378, transport: 'datagram', preset: presets.fast2, clock, defer: (fn) => fn(), log: testLogger(), table, sender });
    const recv = (p: Uint8Array) => dp.inbound.receive(b, Uint8Array.of(2, ...p));
    const send = (p: Uint8Array) => dp.outbound.onTunBatch({ data: p, lengths: Uint32Array.of(p.byteLength), count: 1, slotSize: p.byteLength } as unknown as PacketBatch);
    return { clock, dp, written, recv, send };
  }
  const web: AclPolicyMessage = {
    seq: 1, version: 5, mode: AclMode.ENFORCE, rules: [{ rule: 1, action: AclAction.ALLOW, proto: TCP, portLo: 80, portHi: 80, sources: undefined }],
  };

  it('without a policy everything reaches the TUN (existing networks keep working)', () => {
    const { recv, written, dp } = setup();
    recv(packet(B, A, TCP, 40000, 22));
    expect([written.length, dp.firewall.status().mode]).toEqual([1, 'open']);
  });

  it('with "tcp/80 from everyone": 80 passes, ssh is dropped and counted by reason and rule, our own flow\'s replies pass until idle', () => {
    const { recv, send, written, dp, clock } = setup();
    expect(dp.firewall.apply(web)).toBe(true);
    recv(packet(B, A, TCP, 40000, 80));
    recv(packet(B, A, TCP, 40000, 22));
    expect(written.length).toBe(1);
    expect(dp.counters.drops.acl_denied).toBe(1);
    // Our ssh to B: its replies come back without a rule.
    send(packet(A, B, TCP, 50000, 22));
    recv(packet(B, A, TCP, 22, 50000));
    expect(written.length).toBe(2);
    clock.advance(300_001);
    recv(packet(B, A, TCP, 22, 50000));
    expect(written.length).toBe(2);
    expect(dp.firewall.status()).toMatchObject({ mode: 'enforce', version: 5, rules: 1, allowedAsReply: 1, drops: { default: 2 } });
  });

  it('takes only a newer version (a late duplicate does not roll back); OPEN lifts the policy', () => {
    const { recv, written, dp } = setup();
    dp.firewall.apply(web);
    expect(dp.firewall.apply({ ...web, version: 4, mode: AclMode.OPEN })).toBe(false);
    recv(packet(B, A, TCP, 40000, 22));
    expect(written.length).toBe(0);
    expect(dp.firewall.apply({ ...web, version: 6, mode: AclMode.OPEN, rules: [] })).toBe(true);
    recv(packet(B, A, TCP, 40000, 22));
    expect(written.length).toBe(1);
  });

  it('counts drops per denying rule', () => {
    const { recv, dp } = setup();
    dp.firewall.apply({ ...web, rules: [{ rule: 2, action: AclAction.DENY, proto: UDP, portLo: 0, portHi: 65535, sources: [B] }] });
    recv(packet(B, A, UDP, 1, 2));
    recv(packet(B, A, UDP, 1, 2));
    expect(dp.firewall.status().drops).toEqual({ 'rule 2': 2, default: 0 });
  });
});
