// The cluster as Prometheus sees it (ops/metrics.ts meshd_cluster_*): a hub's cluster status and
// cross-hub counters mapped to ClusterMetrics, pure; hub/run.ts gives it to the metrics server.
import type { ClusterMetrics } from '../ops/metrics.js';
import type { HubStatus } from './hub.js';
import type { ClusterStatus } from './network-state.js';

export function clusterMetricsOf(c: ClusterStatus, crossHub: HubStatus['crossHub']): ClusterMetrics {
  const membersByHub: Record<string, number> = { [c.hubId]: c.ownMembers ?? 0 };
  for (const h of c.hubs) membersByHub[h.hubId] = h.members;
  const natsConnected = c.connection === 'connected';
  return {
    natsConnected,
    partitioned: !natsConnected || c.viewSound === false,
    hubsSeen: c.hubs.length,
    membersByHub,
    presenceWriteFailures: c.presence?.writeFailures ?? 0,
    hubUdpSessions: crossHub?.udp?.sessions.length ?? 0,
    hubUdpDrops: { ...(crossHub?.udp?.drops ?? {}) },
    forwardDrops: { ...(crossHub?.drops ?? {}) },
    relayed: { out: crossHub?.counters.relayedOut ?? 0, in: crossHub?.counters.relayedIn ?? 0 },
    aclMismatch: c.acl?.mismatched.length ?? 0,
  };
}
