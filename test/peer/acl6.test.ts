// The ACL on inner IPv6 (issue 22): rules name members by overlay IPv4 address, so a v6 packet is
// judged as between the two members it travels between (acl-decide.ts packetFacts6), with its
// protocol and ports found past the extension headers; replies of our own v6 flows pass; without
// the members' identities (or with a chain that does not parse) it is denied.
import { describe, expect, it } from 'vitest';
import { AclFirewall } from '../../src/peer/acl-firewall.js';
import { emptyFacts, packetFacts6 } from '../../src/peer/acl-decide.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';
import { parseIpv6 } from '../../src/util/ipv6.js';
import { AclAction, AclMode, type AclPolicyMessage } from '../../src/wire/acl.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { ipv6TestPacket } from '../fakes/ipv6-packet.js';

const A = ipv4ToU32('10.9.0.2'); // us
const B = ipv4ToU32('10.9.0.3');
const C = ipv4ToU32('10.9.0.4');
const A6 = parseIpv6('fd00:1:2:3::a09:2')!;
const B6 = parseIpv6('fd00:1:2:3::a09:3')!;
const TCP = 6;
const ICMP6 = 58;

/** An IPv6 packet with an optional destination-options header; TCP/UDP ports or ICMPv6 type and id. */
function packet6(src: Uint8Array, dst: Uint8Array, proto: number, a = 0, b = 0, ext = false): Uint8Array {
  const extLen = ext ? 8 : 0;
  const p = ipv6TestPacket(src, dst, ext ? 60 : proto, 40 + extLen + 20);
  if (ext) p[40] = proto;
  const o = 40 + extLen;
  if (proto === ICMP6) {
    p[o] = a;
    p[o + 4] = b >> 8;
    p[o + 5] = b & 0xff;
  } else {
    p[o] = a >> 8;
    p[o + 1] = a & 0xff;
    p[o + 2] = b >> 8;
    p[o + 3] = b & 0xff;
  }
  return p;
}

const web: AclPolicyMessage = {
  seq: 1, version: 1, mode: AclMode.ENFORCE,
  rules: [
    { rule: 1, action: AclAction.ALLOW, proto: TCP, portLo: 22, portHi: 22, sources: [C] },
    { rule: 2, action: AclAction.ALLOW, proto: TCP, portLo: 80, portHi: 80, sources: undefined },
  ],
};

describe('packetFacts6', () => {
  it('takes the members as addresses, the ports past an extension header, ICMPv6 echo as ICMP echo', () => {
    const f = emptyFacts();
    expect(packetFacts6(packet6(B6, A6, TCP, 40000, 80, true), f, B, A)).toBe(true);
    expect(f).toMatchObject({ src: B, dst: A, proto: TCP, sport: 40000, dport: 80, hasPorts: true });
    expect(packetFacts6(packet6(B6, A6, ICMP6, 129, 7), f, B, A)).toBe(true);
    expect(f).toMatchObject({ proto: 1, icmpType: 0, icmpId: 7 });
    const broken = packet6(B6, A6, TCP, 1, 2, true);
    broken[41] = 9; // the destination options claim 80 bytes
    expect(packetFacts6(broken, f, B, A)).toBe(false);
  });
});

describe('AclFirewall on IPv6', () => {
  const fw = () => {
    const f = new AclFirewall(new ManualClock());
    f.apply(web);
    return f;
  };
  it.each([
    ['tcp/80 from anyone: allowed by rule 2', packet6(B6, A6, TCP, 40000, 80), B, true],
    ['tcp/80 behind an extension header: the same', packet6(B6, A6, TCP, 40000, 80, true), B, true],
    ['tcp/22 from C (its member identity): allowed by rule 1', packet6(B6, A6, TCP, 40000, 22), C, true],
    ['tcp/22 from B: default deny', packet6(B6, A6, TCP, 40000, 22), B, false],
    ['an echo request from B: default deny', packet6(B6, A6, ICMP6, 128, 1), B, false],
    ['no member identity given: fail closed', packet6(B6, A6, TCP, 40000, 80), undefined, false],
  ] as const)('%s', (_why, p, from, allowed) => {
    expect(fw().admit(p, from, A)).toBe(allowed);
  });

  it('replies of our own v6 flows pass without a rule (ping -6 and TCP out)', () => {
    const f = fw();
    expect(f.admit(packet6(B6, A6, ICMP6, 129, 9), B, A)).toBe(false);
    f.noteOutbound(packet6(A6, B6, ICMP6, 128, 9), B);
    expect(f.admit(packet6(B6, A6, ICMP6, 129, 9), B, A)).toBe(true);
    f.noteOutbound(packet6(A6, B6, TCP, 50000, 443), B);
    expect(f.admit(packet6(B6, A6, TCP, 443, 50000), B, A)).toBe(true);
    expect(f.admit(packet6(B6, A6, TCP, 443, 50001), B, A)).toBe(false);
  });
});
