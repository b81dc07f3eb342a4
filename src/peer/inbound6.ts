// Inbound stage 6 for IPv6 inner packets (inbound.ts hands them here), pure: the packet is whole and
// its extension-header chain parses within bounds (ip6-packet.ts), its source is the sending peer's
// own overlay6 (no spoofing: a peer may only send from its own v6 address), and its destination is
// ours. No v6 subnet routes: nothing is forwarded.
import { ipv6DstOffset, ipv6SrcOffset, ipv6Upper } from '../tun/ip6-packet.js';
import { samePrefix6 } from '../util/ipv6-prefix.js';
import type { DropReason } from './counters.js';

/** The drop reason for an inner v6 packet from `peer`, or undefined when it may go on to the ACL. */
export function checkV6(peer: { admits6(p: Uint8Array, off: number): boolean }, packet: Uint8Array, local6: Uint8Array | undefined): DropReason | undefined {
  if (local6 === undefined) return 'no_ipv6';
  if (ipv6Upper(packet) === undefined) return 'ipv6_malformed';
  if (!peer.admits6(packet, ipv6SrcOffset)) return 'spoofed_source';
  if (!samePrefix6(packet, ipv6DstOffset, local6, 0, 128)) return 'not_for_us';
  return undefined;
}
