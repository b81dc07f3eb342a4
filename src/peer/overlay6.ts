// The peer's overlay IPv6 address (issue 22): what REGISTER asks for (--local6 ADDR/64, "::" for the
// hub's assignment, nothing with --local6 off) and which address the TUN and the data plane use
// after REGISTER_OK. Pure; run.ts calls it.
import type { Logger } from '../util/log.js';
import type { Assigned } from '../wire/control.js';
import { ipv6MinMtu } from '../tun/ip6-packet.js';

export type Local6Setting = { address: string; prefixLength: number } | 'off' | undefined;

/** PeerNode's overlay6/prefix6 options for a --local6 setting. An MTU below IPv6's minimum (1280)
 * asks for nothing (IPv4 only; config/parse.ts refuses it with an explicit --local6). */
export function overlay6Request(local6: Local6Setting, mtu: number): { overlay6?: string; prefix6?: number } {
  if (local6 === 'off' || mtu < ipv6MinMtu) return {};
  if (local6 === undefined) return { overlay6: '::', prefix6: 0 };
  return { overlay6: local6.address, prefix6: local6.prefixLength };
}

/**
 * The overlay v6 address to use: the hub's (it accepted ours or assigned one). An explicit --local6
 * that the hub did not take (a hub without --network6, or an older one) is not used: no other peer
 * would know it, so v6 stays off and the log says why.
 */
export function overlay6Of(
  explicit: { address: string; prefixLength: number } | undefined,
  assigned: Assigned | undefined,
  log?: Pick<Logger, 'warn'>,
): { address: string; prefixLength: number } | undefined {
  if (assigned?.overlay6 !== undefined) return { address: assigned.overlay6, prefixLength: assigned.prefix6 ?? 64 };
  if (explicit) log?.warn({ local6: `${explicit.address}/${explicit.prefixLength}` }, 'the hub gave no overlay IPv6 (no --network6 there, or an older hub): IPv6 overlay off');
  return undefined;
}

/**
 * Puts `a6` on the TUN. An address the hub assigned on its own (no --local6) is a default the user
 * never asked for: a host with IPv6 disabled refuses it, and the peer then runs IPv4 only with one
 * warning rather than exiting (the data plane sees no address6 and drops inner v6 as no_ipv6). An
 * explicit --local6 that cannot be set stays an error.
 */
export function applyOverlay6(
  tun: { readonly address6?: string | undefined; setAddress6(address6: string, prefixLength6: number): void },
  a6: { address: string; prefixLength: number } | undefined,
  explicit: { address: string; prefixLength: number } | undefined,
  log: Pick<Logger, 'warn'>,
): void {
  if (!a6 || tun.address6 !== undefined) return;
  try {
    tun.setAddress6(a6.address, a6.prefixLength);
  } catch (e) {
    if (explicit) throw e;
    log.warn({ address6: `${a6.address}/${a6.prefixLength}`, err: String((e as Error).message ?? e) }, 'the overlay IPv6 address the hub assigned cannot be set (IPv6 disabled on this host?): running IPv4 only; --local6 off silences this');
  }
}
