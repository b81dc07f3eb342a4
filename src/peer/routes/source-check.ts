// The inner-address checks subnet routes and exit nodes widen (issue 23): a packet from peer P may
// carry a source inside the prefixes this peer routes to P (and P's overlay address, checked by the
// caller), and may be for a destination inside this peer's own admitted prefixes (it forwards them).
// Pure; inbound.ts calls them through InboundContext, so they port onto a per-peer record as is.
import { prefixMask } from '../../util/ipv4.js';
import type { RoutePrefix } from '../../wire/routes.js';
import { inPrefixes } from '../route-table.js';

/** True when `addr` lies inside one of `prefixes` (the sending peer's admitted prefixes in use). */
export function sourceAllowed(prefixes: readonly RoutePrefix[], addr: number): boolean {
  return inPrefixes(prefixes, addr);
}

/**
 * A packet for `dst` that is not our overlay address may be written to the TUN for the kernel to
 * forward only when `dst` is in one of our own admitted prefixes (a LAN we offer, or anything for
 * an admitted exit node), and never when it is another overlay address (no hairpin through us).
 */
export function forwardAllowed(own: readonly RoutePrefix[], overlay: RoutePrefix, dst: number): boolean {
  if (((dst & prefixMask(overlay.length)) >>> 0) === overlay.network) return false;
  return sourceAllowed(own, dst);
}
