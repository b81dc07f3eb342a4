// What the peer daemon (peer/run.ts) serves on --metrics: the sources read at each scrape (traffic,
// drops, handshakes, hub leg switches, retransmits, families, routes, punch outcomes) and the small
// reshapes they need. Reads the daemon's parts; builds nothing and starts nothing.
import type { MetricsSources, TrafficSample } from '../ops/metrics.js';
import type { NatAgent } from '../nat/agent.js';
import type { NatTraversal } from '../nat/traversal.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { DataPlane } from './dataplane.js';
import type { HubLegs } from './hub-legs.js';
import type { PeerNode } from './node.js';
import type { RouteManager } from './routes/route-manager.js';

/** The daemon's parts the metrics read; `dataPlane` is there once the TUN is up. */
export interface PeerMetricsParts {
  node: PeerNode;
  hubLegs: HubLegs;
  routes: RouteManager;
  nat: NatAgent | undefined;
  dataPlane(): DataPlane | undefined;
}

export function peerMetricsSources(p: PeerMetricsParts): MetricsSources {
  const { node, hubLegs, routes, nat } = p;
  return {
    traffic: () => trafficSamples(node),
    drops: () => ({ ...(p.dataPlane()?.counters.drops ?? {}), ...prefixed('link_', node.link.drops), hub_stream_dropped: hubLegs.streamDropped, ...aclDropSamples(node.firewall.status().drops) }),
    hubTransportSwitches: () => ({ ...hubLegs.switches }),
    handshakes: () => ({ initiated: node.link.stats.handshakesInitiated, completed: node.link.stats.handshakesCompleted, bad_mac: node.link.drops.bad_mac1, failed: node.link.drops.handshake_failed }),
    kcpRetransmits: () => Object.fromEntries((p.dataPlane()?.status() ?? []).map((c) => [c.overlay, c.retransmits])),
    familyPackets: () => familyPackets(p.dataPlane()?.counters),
    routePackets: () => Object.fromEntries(routes.metrics().map((r) => [`${r.route} via ${r.via}`, r.packets])),
    // meshd_punch_attempts_total{outcome="<technique>_<attempt|direct|failed>"} (src/nat/traversal.ts).
    ...(nat ? { punchAttempts: () => natOutcomes(nat.traversal.counts) } : {}),
  };
}

/** The overlay's packets split by family: the totals minus the IPv6 share is IPv4. */
function familyPackets(c: DataPlane['counters'] | undefined): Record<string, number> {
  if (!c) return {};
  return { ipv4_in: c.rxPackets - c.v6.rxPackets, ipv4_out: c.txPackets - c.v6.txPackets, ipv6_in: c.v6.rxPackets, ipv6_out: c.v6.txPackets };
}

function prefixed(prefix: string, r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [prefix + k, v]));
}

function* trafficSamples(node: PeerNode): Iterable<TrafficSample> {
  for (const rec of node.remotes.values()) {
    for (const t of rec.traffic.samples()) yield { peer: u32ToIpv4(rec.overlay), ...t };
  }
}

/** Traversal counts flattened for the punch-attempts counter: birthday_attempt, birthday_direct... */
function natOutcomes(counts: NatTraversal['counts']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [t, c] of Object.entries(counts)) {
    out[`${t}_attempt`] = c.attempts;
    out[`${t}_direct`] = c.direct;
    out[`${t}_failed`] = c.failed;
  }
  return out;
}

/** ACL drops per rule as metric reasons: acl_rule_2, acl_default (meshd_drops_total{reason}). */
function aclDropSamples(drops: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(drops).map(([k, v]) => [`acl_${k.replace(' ', '_')}`, v]));
}
