// Builds the hub's answer to `meshd status` (src/ops/status-types.ts HubStatusJson) from the
// registry and the relay counters. Read-only.
import type { HubStatusJson } from '../ops/status-types.js';
import type { Clock } from '../util/clock.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import type { Hub } from './hub.js';
import { routeVerdictName } from '../wire/routes.js';
import { endpointKey } from '../net/udp.js';

export function buildHubStatus(hub: Hub, o: { version: string; publicKey: string; startedMs: number; clock: Clock }): HubStatusJson {
  const now = o.clock.now();
  const s = hub.status();
  const st = hub.link.lastStaleHandshake;
  const cluster = hub.state.status();
  return {
    role: 'hub',
    version: o.version,
    publicKey: o.publicKey,
    listen: s.listen,
    network: s.network,
    uptimeMs: Math.round(now - o.startedMs),
    mapVersion: s.mapVersion,
    relayedBytes: s.relayedBytes,
    relayedPackets: s.relayedPackets,
    relayQueue: s.relayQueue,
    drops: {
      ...Object.fromEntries(Object.entries(s.relayDrops).map(([k, v]) => [`relay_${k}`, v])),
      ...Object.fromEntries(Object.entries(s.linkDrops).map(([k, v]) => [`link_${k}`, v])),
      ...Object.fromEntries(Object.entries(s.controlDrops).map(([k, v]) => [`control_${k}`, v])),
    },
    ...(s.acl ? { acl: s.acl } : {}),
    published: s.published.map((p) => ({
      name: p.name,
      port: p.port,
      owner: p.ownerName,
      state: p.listening ? 'listening' : 'offline',
      // Several hubs: a service of a member homed on another hub, served here (README "Published services across hubs").
      ...(p.guest ? { guest: true } : {}),
      connections: p.connections,
      totalConnections: p.totalConnections,
      refusedBy: p.refusedBy,
      idleClosed: p.idleClosed,
      budgetResets: p.budgetResets,
      bytesIn: p.bytesIn,
      bytesOut: p.bytesOut,
    })),
    bindings: hub.bindings
      .all()
      .filter((b) => hub.registry.get(b.id) === undefined && hub.state.map.get(b.id) === undefined)
      .sort((a, b) => a.overlay - b.overlay)
      .map((b) => ({
        name: b.name,
        address: u32ToIpv4(b.overlay),
        publicKey: Buffer.from(b.id, 'hex').toString('base64'),
        lastSeen: b.lastSeenMs > 0 ? new Date(b.lastSeenMs).toISOString() : null,
        pinned: b.pinned,
      })),
    members: hub.registry
      .all()
      .slice()
      .sort((a, b) => a.overlay - b.overlay)
      .map((m) => ({
        name: m.name,
        address: u32ToIpv4(m.overlay),
        ...(m.overlay6 !== undefined ? { address6: m.overlay6 } : {}),
        publicKey: Buffer.from(m.publicKey).toString('base64'),
        reflexive: endpointKey(m.reflexive),
        lan: m.lan.map(endpointKey),
        lastHeartbeatMsAgo: Math.max(0, Math.round(now - m.lastHeartbeatMs)),
        registeredMsAgo: Math.max(0, Math.round(now - m.registeredMs)),
        relayedBytes: m.relayedBytes,
      })),
    routes: s.routes.map((r) => ({
      route: `${u32ToIpv4(r.network)}/${r.length}`,
      owner: hub.registry.byOverlay(r.owner)?.name ?? '',
      address: u32ToIpv4(r.owner),
      verdict: routeVerdictName[r.verdict],
    })),
    ...(cluster ? { cluster: { ...cluster, ...(s.crossHub ? { crossHub: s.crossHub } : {}) } } : {}),
    ...(st ? { staleHandshake: { remote: st.remote, from: st.from, skewS: Math.round(st.skewMs / 1000), agoMs: Math.max(0, Math.round(now - st.atMs)) } } : {}),
  };
}
