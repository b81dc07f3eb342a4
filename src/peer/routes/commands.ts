// The exact system commands subnet routes and exit nodes use (issue 23, docs/ROUTES.md), as argv
// lists built by pure functions so tests pin them and the docs can quote them. linux-runner.ts runs
// them; nothing else in meshd changes routes, rules or nftables.
//
// Markers that let a restart after a crash find what a killed daemon left behind:
//   routes    `proto 119` (meshdRouteProto) on every route meshd installs
//   rules     preferences 5268-5272 and routing table 5270 (exit node; one meshd per host uses them)
//   nftables  the table `ip meshd_fwd_<tun>` (forwarding peer: masquerade and MSS clamp)
import { u32ToIpv4 } from '../../util/ipv4.js';
import type { RoutePrefix } from '../../wire/routes.js';
import { maxExitHubStreams } from './exit-hub-streams.js';

/** Local marker: the routing protocol number on meshd's routes (unassigned in rt_protos). */
export const meshdRouteProto = 119;
/** Local marker: the routing table holding the exit node's default route, and its rule preferences. */
export const exitTable = 5270;
export const exitRulePrefs = [5270, 5271, 5272] as const;
/** Local marker: the rules keeping our TCP/TLS hub leg (issue 21) on the main table, one per port. */
export const exitHubStreamPrefs = [5268, 5269] as const;

export type Argv = readonly string[];

export function cidrOf(p: RoutePrefix): string {
  return `${u32ToIpv4(p.network)}/${p.length}`;
}

export function subnetRouteAdd(p: RoutePrefix, tun: string): Argv {
  return ['ip', 'route', 'replace', cidrOf(p), 'dev', tun, 'proto', String(meshdRouteProto)];
}

export function subnetRouteDel(p: RoutePrefix, tun: string): Argv {
  return ['ip', 'route', 'del', cidrOf(p), 'dev', tun, 'proto', String(meshdRouteProto)];
}

export interface ExitRuleOptions {
  tun: string;
  /** meshd's UDP port: its underlay traffic keeps the main table. */
  udpPort: number;
  overlay: RoutePrefix;
  allowLan: boolean;
  /** Each hub's IPv4 address and its TCP and TLS ports (routes/exit-hub-streams.ts, every --hub):
   * our stream legs to them keep the main table. Empty (a pinned UDP leg, IPv6 hubs: the exit route
   * is IPv4 only) = no such rule. */
  hubStreams?: ReadonlyArray<{ address: string; ports: readonly number[] }> | undefined;
}

/**
 * Policy routing for --exit-node, in the spirit of wg-quick, keyed on meshd's UDP source port
 * instead of an fwmark (no socket option needed):
 *   5268, 5269  TCP to each hub's TCP and TLS ports (our stream legs, issue 21; every --hub, issue
 *         24) -> main table: the stream socket has no fixed source port, so the hub's address and
 *         port select it; several hubs share the two preferences
 *   5270  meshd's own UDP socket (hub session, direct paths) -> main table, default route included
 *   5271  --exit-node-allow-lan: the main table minus its default routes (suppress_prefixlength 0);
 *         else only the overlay prefix -> main
 *   5272  everything else -> table 5270: default dev <tun>
 */
export function exitRulesOn(o: ExitRuleOptions): Argv[] {
  const [p0, p1, p2] = exitRulePrefs;
  const streams = (o.hubStreams ?? []).slice(0, maxExitHubStreams).flatMap((h) =>
    [...new Set(h.ports)].slice(0, exitHubStreamPrefs.length).map((port, i) => ['ip', 'rule', 'add', 'pref', String(exitHubStreamPrefs[i]), 'to', `${h.address}/32`, 'ipproto', 'tcp', 'dport', String(port), 'lookup', 'main']),
  );
  return [
    ['ip', 'route', 'replace', 'default', 'dev', o.tun, 'table', String(exitTable), 'proto', String(meshdRouteProto)],
    ...streams,
    ['ip', 'rule', 'add', 'pref', String(p0), 'ipproto', 'udp', 'sport', String(o.udpPort), 'lookup', 'main'],
    o.allowLan
      ? ['ip', 'rule', 'add', 'pref', String(p1), 'lookup', 'main', 'suppress_prefixlength', '0']
      : ['ip', 'rule', 'add', 'pref', String(p1), 'to', cidrOf(o.overlay), 'lookup', 'main'],
    ['ip', 'rule', 'add', 'pref', String(p2), 'lookup', String(exitTable)],
  ];
}

/** Removes the exit rules and table; also what a start runs to clear a crashed daemon's leftovers
 * (best effort: `ip rule del pref` removes one rule a time, so the hubs' shared preferences are
 * deleted once per hub that may hold one). */
export function exitRulesOff(): Argv[] {
  const streamDels = exitHubStreamPrefs.flatMap((p) => Array.from({ length: maxExitHubStreams }, () => ['ip', 'rule', 'del', 'pref', String(p)]));
  return [...streamDels, ...exitRulePrefs.map((p) => ['ip', 'rule', 'del', 'pref', String(p)]), ['ip', 'route', 'flush', 'table', String(exitTable)]];
}

export function nftTableName(tun: string): string {
  return `meshd_fwd_${tun.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The forwarding peer's nftables table: masquerade the overlay toward its LAN or uplink, and clamp
 * the TCP MSS of forwarded SYNs to the route MTU (the TUN's on the way in). */
export function forwardingRuleset(tun: string, overlay: RoutePrefix): string {
  return [
    `table ip ${nftTableName(tun)} {`,
    '  chain forward {',
    '    type filter hook forward priority mangle; policy accept;',
    `    iifname "${tun}" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu`,
    `    oifname "${tun}" tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${cidrOf(overlay)} oifname != "${tun}" masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export function forwardingOff(tun: string): Argv {
  return ['nft', 'delete', 'table', 'ip', nftTableName(tun)];
}

/** What a start runs first (errors ignored): a crashed daemon's exit rules, routes and table. */
export function staleCleanup(tun: string): Argv[] {
  return [...exitRulesOff(), ['ip', 'route', 'flush', 'proto', String(meshdRouteProto), 'dev', tun], forwardingOff(tun)];
}
