// Which UDP endpoints a node may be told to probe: a pure filter shared by the hub (LAN endpoints in
// REGISTER/HEARTBEAT) and the peer (map entries, PUNCH candidates, peer-reflexive sources). A member
// must not make every peer send to loopback, link-local, multicast or broadcast addresses, or into
// the overlay itself (a TUN address as a "LAN" candidate moves the path into the tunnel: M7).
import { parseIpv4 } from './ipv4.js';

/** Why an endpoint is not a candidate. */
export type EndpointRejection = 'not_ipv4' | 'port_zero' | 'unspecified' | 'loopback' | 'link_local' | 'multicast' | 'broadcast' | 'reserved' | 'overlay';

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
  if (a === undefined) return 'not_ipv4';
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
