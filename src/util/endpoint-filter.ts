// Which UDP endpoints a node may be told to probe: a pure filter shared by the hub (LAN endpoints in
// REGISTER/HEARTBEAT) and the peer (map entries, PUNCH candidates, peer-reflexive sources). A member
// must not make every peer send to loopback, link-local, multicast or broadcast addresses, or into
// the overlay itself (a TUN address as a "LAN" candidate moves the path into the tunnel: M7).
// IPv6 (issue 22): global unicast (2000::/3, the documentation prefix 2001:db8::/32 included, as
// 192.0.2.0/24 is for IPv4) and unique-local (fc00::/7, a LAN address: peer/candidates.ts) pass;
// link-local is refused like 169.254/16 (unusable without the sender's zone, which no wire carries).
import { parseIpv4 } from './ipv4.js';
import { isIpv6Text, parseIpv6 } from './ipv6.js';

/** Why an endpoint is not a candidate. */
export type EndpointRejection = 'not_ipv4' | 'port_zero' | 'unspecified' | 'loopback' | 'link_local' | 'multicast' | 'broadcast' | 'reserved' | 'overlay';

/** Why an IPv6 address (16 bytes) is no candidate, or undefined. `not_ipv4` stays the name for
 * text that is no IP address at all (counters keep their labels). */
function ipv6Rejection(b: Uint8Array): EndpointRejection | undefined {
  const b0 = b[0]!;
  if (b0 === 0xff) return 'multicast'; // ff00::/8
  if (b0 === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link_local'; // fe80::/10
  if (b0 === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'reserved'; // fec0::/10, site-local (deprecated)
  if ((b0 & 0xfe) === 0xfc) return undefined; // fc00::/7 unique-local: a LAN address
  if ((b0 & 0xe0) === 0x20) return undefined; // 2000::/3 global unicast
  // The rest of the space is unassigned or special: ::/128, ::1, ::ffff:0:0/96 (v4-mapped, sent as
  // IPv4 instead), ::/96 (deprecated v4-compatible), 100::/64 (discard)...
  let zero = true;
  for (let i = 0; i < 15; i++) if (b[i] !== 0) zero = false;
  if (zero && b[15] === 0) return 'unspecified';
  if (zero && b[15] === 1) return 'loopback';
  return 'reserved';
}

/** True for a unique-local IPv6 address (fc00::/7): a LAN candidate, never a public one. */
export function isUniqueLocalIpv6(address: string): boolean {
  const b = isIpv6Text(address) ? parseIpv6(address) : undefined;
  return b !== undefined && (b[0]! & 0xfe) === 0xfc;
}

/** True for a global unicast IPv6 address (2000::/3): reachable across the internet, no NAT. */
export function isGlobalIpv6(address: string): boolean {
  const b = isIpv6Text(address) ? parseIpv6(address) : undefined;
  return b !== undefined && (b[0]! & 0xe0) === 0x20;
}

/** The overlay network as numbers: address & mask === base is inside it. */
export interface OverlayPrefix {
  readonly base: number;
  readonly mask: number;
}

export function overlayPrefix(address: number, prefixLength: number): OverlayPrefix {
  const mask = prefixLength <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefixLength, 32))) >>> 0;
  return { base: (address & mask) >>> 0, mask };
}

export function inOverlay(address: number, overlay: OverlayPrefix): boolean {
  return ((address & overlay.mask) >>> 0) === overlay.base;
}

/** Undefined when `e` may be probed, else why not. `overlay` = the network's overlay prefix. */
export function endpointRejection(e: { readonly address: string; readonly port: number }, overlay?: OverlayPrefix): EndpointRejection | undefined {
  const a = parseIpv4(e.address);
  if (a === undefined) {
    const b = isIpv6Text(e.address) ? parseIpv6(e.address) : undefined;
    if (b === undefined) return 'not_ipv4';
    if (!(e.port > 0 && e.port <= 0xffff)) return 'port_zero';
    return ipv6Rejection(b);
  }
  if (!(e.port > 0 && e.port <= 0xffff)) return 'port_zero';
  const top = a >>> 24;
  if (top === 0) return 'unspecified'; // 0.0.0.0/8, "this network"
  if (top === 127) return 'loopback';
  if (a >>> 16 === 0xa9fe) return 'link_local'; // 169.254.0.0/16
  if (a === 0xffffffff) return 'broadcast';
  if (top >= 224 && top <= 239) return 'multicast';
  if (top >= 240) return 'reserved'; // 240.0.0.0/4, never routed
  if (overlay !== undefined && inOverlay(a, overlay)) return 'overlay';
  return undefined;
}

/** The usable endpoints of `list`, in order; `onDrop` counts the others. */
export function usableEndpoints<T extends { readonly address: string; readonly port: number }>(
  list: readonly T[],
  overlay?: OverlayPrefix,
  onDrop?: (why: EndpointRejection, e: T) => void,
): T[] {
  const out: T[] = [];
  for (const e of list) {
    const why = endpointRejection(e, overlay);
    if (why === undefined) out.push(e);
    else onDrop?.(why, e);
  }
  return out;
}
