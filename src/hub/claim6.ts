// Overlay IPv6 addresses at the hub (issue 22): the network's /64 (--network6) and which v6 address
// a registering key gets. Pure, tested with tables (test/hub/claim6.test.ts).
//
// The hub assigns each member its IPv4 overlay address's twin: the /64 with the v4 address as the
// last 32 bits (10.9.0.2 -> fdXX:XXXX:XXXX:YYYY::a09:2). That address inherits everything the v4
// binding has: durable (hub/bindings.ts: expiry, restarts, clusters), one key per address, the
// allow-list's pins; no second binding table. A peer may ask for another address with --local6; it
// must lie in the /64 outside the twins' range (interface ids whose upper 32 bits are zero belong to
// the v4 addresses and their keys) and not be held by another live member. Such a claim lives with
// the member, not in the durable bindings (README "IPv6 overlay").
import { RefusalReason } from '../wire/control.js';
import { ConfigError } from '../util/errors.js';
import { formatIpv6, maskIpv6, parseIpv6, samePrefix6 } from '../util/ipv6-prefix.js';

export interface Network6 {
  /** The /64 network, host bits zero. */
  readonly base: Uint8Array;
  readonly prefix: number;
  readonly cidr: string;
}

/** The overlay IPv6 network from config ({address, prefixLength}, checked by config/parse.ts). */
export function network6Of(n: { address: string; prefixLength: number }): Network6 {
  const a = parseIpv6(n.address);
  if (a === undefined || n.prefixLength !== 64) throw new ConfigError('--network6', `not an IPv6 /64: ${n.address}/${n.prefixLength}`);
  const base = maskIpv6(a, 64);
  return { base, prefix: 64, cidr: `${formatIpv6(base)}/64` };
}

/** The v6 twin of an IPv4 overlay address: the /64 with the v4 address as its last 32 bits. */
export function twinOf(net: Network6, overlay: number): string {
  const b = net.base.slice();
  b[12] = overlay >>> 24;
  b[13] = (overlay >>> 16) & 0xff;
  b[14] = (overlay >>> 8) & 0xff;
  b[15] = overlay & 0xff;
  return formatIpv6(b);
}

export type Claim6 = { ok: true; overlay6: string } | { ok: false; reason: RefusalReason; text: string };

export interface Claim6Request {
  id: string;
  /** The address the peer asked for (--local6), canonical or not; undefined = assign one. */
  overlay6?: string;
  prefix6?: number;
}

/**
 * The v6 address for a key whose IPv4 claim gave it `overlay`. Another live member's explicit
 * address (`byOverlay6`) is never handed out; a twin belongs to its v4 address's key.
 */
export function claim6(req: Claim6Request, overlay: number, net: Network6, byOverlay6: (a: string) => { id: string } | undefined): Claim6 {
  const twin = twinOf(net, overlay);
  if (req.overlay6 === undefined) {
    const h = byOverlay6(twin);
    if (h && h.id !== req.id) return { ok: false, reason: RefusalReason.ADDRESS_IN_USE, text: `${twin} is held by another key` };
    return { ok: true, overlay6: twin };
  }
  const a = parseIpv6(req.overlay6);
  if (a === undefined || req.prefix6 !== net.prefix || !samePrefix6(a, 0, net.base, 0, net.prefix) || samePrefix6(a, 0, net.base, 0, 128)) {
    return { ok: false, reason: RefusalReason.OUTSIDE_NETWORK, text: `${req.overlay6}/${req.prefix6 ?? '?'} is not a host address of ${net.cidr}` };
  }
  const text = formatIpv6(a);
  if (text === twin) return { ok: true, overlay6: twin };
  if (a[8] === 0 && a[9] === 0 && a[10] === 0 && a[11] === 0) {
    return { ok: false, reason: RefusalReason.ADDRESS_IN_USE, text: `${text} is the IPv6 twin of another IPv4 address (interface ids ::a.b.c.d belong to the IPv4 addresses' keys); ask for ${twin} or one with a non-zero upper interface id` };
  }
  const h = byOverlay6(text);
  if (h && h.id !== req.id) return { ok: false, reason: RefusalReason.ADDRESS_IN_USE, text: `${text} is held by another key` };
  return { ok: true, overlay6: text };
}

/**
 * The v6 part of a REGISTER (hub/server.ts): undefined when the hub has no --network6 or the peer
 * did not ask (no flag 0x10), else claim6's decision ("::" asks for an assignment).
 */
export function registerOverlay6(
  msg: { overlay6?: string; prefix6?: number },
  id: string,
  overlay: number,
  net: Network6 | undefined,
  members: { byOverlay6(a: string): { id: string } | undefined },
): Claim6 | undefined {
  if (net === undefined || msg.overlay6 === undefined) return undefined;
  const ask = msg.overlay6 === '::' ? undefined : msg.overlay6;
  return claim6({ id, ...(ask !== undefined ? { overlay6: ask, prefix6: msg.prefix6 ?? 0 } : {}) }, overlay, net, (a) => members.byOverlay6(a));
}
