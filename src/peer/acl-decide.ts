// The ACL decisions of the receiving peer (docs/ACL.md), pure: what an inner IPv4 packet's headers
// say (packetFacts), which flow key it opens going out or answers coming in, and the verdict for an
// inbound packet under the hub's policy. acl-firewall.ts holds the state; inbound.ts asks it.
import { ipProtoIcmp, ipProtoTcp, ipProtoUdp, icmpEchoReplyType, icmpEchoRequestType } from '../tun/ip-packet.js';
import { AclAction, AclMode, type AclProto } from '../wire/acl.js';
import { ipProtoIcmpv6, ipv6Upper } from '../tun/ip6-packet.js';

/** One policy rule as the peer matches it (the wire rule with its sources in a Set). */
export interface AclRule {
  /** The rule's number in the hub's policy file (1-based): drops are counted under it. */
  rule: number;
  action: AclAction;
  proto: AclProto;
  portLo: number;
  portHi: number;
  /** undefined = any source overlay address. */
  sources: ReadonlySet<number> | undefined;
}

export interface AclPolicy {
  mode: AclMode;
  rules: readonly AclRule[];
}

/** The header fields the ACL reads. `hasPorts` is false for other protocols and non-first fragments. */
export interface PacketFacts {
  src: number;
  dst: number;
  proto: number;
  sport: number;
  dport: number;
  hasPorts: boolean;
  /** ICMP type and echo identifier (-1 when not ICMP). */
  icmpType: number;
  icmpId: number;
}

export function emptyFacts(): PacketFacts {
  return { src: 0, dst: 0, proto: 0, sport: 0, dport: 0, hasPorts: false, icmpType: -1, icmpId: 0 };
}

/** Fills `f` from an IPv4 packet whose total length was checked; false when the header is not sane. */
export function packetFacts(p: Uint8Array, f: PacketFacts): boolean {
  if (p.byteLength < 20 || p[0]! >> 4 !== 4) return false;
  const ihl = (p[0]! & 0x0f) * 4;
  if (ihl < 20 || ihl > p.byteLength) return false;
  f.proto = p[9]!;
  f.src = ((p[12]! << 24) | (p[13]! << 16) | (p[14]! << 8) | p[15]!) >>> 0;
  f.dst = ((p[16]! << 24) | (p[17]! << 16) | (p[18]! << 8) | p[19]!) >>> 0;
  const firstFragment = ((p[6]! & 0x1f) | p[7]!) === 0;
  f.hasPorts = false;
  f.sport = f.dport = 0;
  f.icmpType = -1;
  f.icmpId = 0;
  if (!firstFragment) return true;
  if ((f.proto === ipProtoTcp || f.proto === ipProtoUdp) && p.byteLength >= ihl + 4) {
    f.sport = (p[ihl]! << 8) | p[ihl + 1]!;
    f.dport = (p[ihl + 2]! << 8) | p[ihl + 3]!;
    f.hasPorts = true;
  } else if (f.proto === ipProtoIcmp && p.byteLength >= ihl + 8) {
    f.icmpType = p[ihl]!;
    f.icmpId = (p[ihl + 4]! << 8) | p[ihl + 5]!;
  }
  return true;
}

/** ICMPv6 types as the ICMPv4 types the flow keys know (echo 128/129 -> 8/0; errors -> 3, 11, 12). */
const icmp6AsIcmp4: Readonly<Record<number, number>> = { 128: 8, 129: 0, 1: 3, 2: 3, 3: 11, 4: 12 };

/**
 * Fills `f` from an inner IPv6 packet (issue 22). The ACL's rules name members by their overlay IPv4
 * address, so a v6 packet is judged by the members it is between: `src` and `dst` are the sending
 * and receiving members' IPv4 addresses, not the packet's. Protocol and ports come from past the
 * extension headers (ip6-packet.ts, bounded); ICMPv6 counts as ICMP. False when the chain does not parse.
 */
export function packetFacts6(p: Uint8Array, f: PacketFacts, src: number, dst: number): boolean {
  const up = ipv6Upper(p);
  if (up === undefined) return false;
  f.src = src >>> 0;
  f.dst = dst >>> 0;
  f.proto = up.proto === ipProtoIcmpv6 ? ipProtoIcmp : up.proto;
  f.hasPorts = false;
  f.sport = f.dport = 0;
  f.icmpType = -1;
  f.icmpId = 0;
  if (up.fragment && up.fragmentOffset !== 0) return true;
  const o = up.offset;
  if ((f.proto === ipProtoTcp || f.proto === ipProtoUdp) && p.byteLength >= o + 4) {
    f.sport = (p[o]! << 8) | p[o + 1]!;
    f.dport = (p[o + 2]! << 8) | p[o + 3]!;
    f.hasPorts = true;
  } else if (f.proto === ipProtoIcmp && p.byteLength >= o + 8) {
    f.icmpType = icmp6AsIcmp4[p[o]!] ?? -1;
    f.icmpId = (p[o + 4]! << 8) | p[o + 5]!;
  }
  return true;
}

const portSpan = 65536;
const protoSpan = portSpan * portSpan;

/** The flow key (per remote address) a packet we send opens: TCP/UDP (proto, our port, their port),
 * ICMP echo request (icmp, id); undefined for the rest (they open nothing). */
export function outboundFlowKey(f: PacketFacts): number | undefined {
  if (f.hasPorts) return f.proto * protoSpan + f.sport * portSpan + f.dport;
  if (f.proto === ipProtoIcmp && f.icmpType === icmpEchoRequestType) return ipProtoIcmp * protoSpan + f.icmpId * portSpan;
  return undefined;
}

/** The flow key an inbound packet would answer (the mirror of outboundFlowKey); 'any' for ICMP errors
 * (they answer whatever we sent that remote); undefined when it answers nothing. */
export function replyFlowKey(f: PacketFacts): number | 'any' | undefined {
  if (f.hasPorts) return f.proto * protoSpan + f.dport * portSpan + f.sport;
  if (f.proto === ipProtoIcmp) {
    if (f.icmpType === icmpEchoReplyType) return ipProtoIcmp * protoSpan + f.icmpId * portSpan;
    if (f.icmpType === 3 || f.icmpType === 11 || f.icmpType === 12) return 'any';
  }
  return undefined;
}

export type AclVerdict = { allow: true; by: 'open' | 'flow' | number } | { allow: false; by: 'default' | number };

const allowOpen: AclVerdict = { allow: true, by: 'open' };
const allowFlow: AclVerdict = { allow: true, by: 'flow' };
const denyDefault: AclVerdict = { allow: false, by: 'default' };

function matches(r: AclRule, f: PacketFacts): boolean {
  if (r.proto !== 0 && r.proto !== f.proto) return false;
  if (r.portLo !== 0 || r.portHi !== 65535) {
    if (!f.hasPorts || f.dport < r.portLo || f.dport > r.portHi) return false;
  }
  return r.sources === undefined || r.sources.has(f.src);
}

/**
 * An inbound packet's verdict: no policy (OPEN) allows; a reply of a flow this peer opened passes
 * without a rule (stateful, as conntrack's ESTABLISHED); otherwise the first matching rule decides,
 * and nothing matching is denied (default deny, as Nebula's firewall).
 */
export function aclVerdict(policy: AclPolicy, f: PacketFacts, replyOfOwnFlow: boolean): AclVerdict {
  if (policy.mode === AclMode.OPEN) return allowOpen;
  if (replyOfOwnFlow) return allowFlow;
  for (const r of policy.rules) {
    if (matches(r, f)) return r.action === AclAction.ALLOW ? { allow: true, by: r.rule } : { allow: false, by: r.rule };
  }
  return denyDefault;
}
