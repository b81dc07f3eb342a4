// Builds the peer daemon's answer to `meshd status` (src/ops/status-types.ts PeerStatusJson) from
// the control plane (PeerNode, Link, HubClient) and the data plane counters. Read-only.
import type { PeerEntryJson, PeerStatusJson, StaleHandshakeJson } from '../ops/status-types.js';
import type { Clock } from '../util/clock.js';
import { ipv4ToU32 } from '../util/ipv4.js';
import type { DataPlane } from './dataplane.js';
import type { PeerNode } from './node.js';
import type { NatClass } from '../wire/nat-class.js';
import { endpointKey } from '../net/udp.js';

export interface PeerStatusSource {
  version: string;
  name: string;
  address: string; // "10.9.0.2/24"
  /** "fd12:3456:789a:1::a09:2/64" when this peer has an overlay IPv6 address. */
  address6?: string;
  publicKey: string;
  tun: string;
  mtu: number;
  transport: 'auto' | 'kcp' | 'datagram';
  listen: string;
  hubEndpoint: string;
  startedMs: number;
  clock: Clock;
  node: PeerNode;
  /** Absent until the TUN is up (a peer waiting for the hub to assign its address). */
  dataPlane?: DataPlane;
  /** This node's NAT class (src/nat), once classified. */
  nat?: NatClass;
}

const ago = (now: number, t: number | undefined) => (t === undefined || !Number.isFinite(t) ? null : Math.max(0, Math.round(now - t)));

export function buildPeerStatus(s: PeerStatusSource): PeerStatusJson {
  const now = s.clock.now();
  const hub = s.node.hubClient;
  const hubRemote = hub.hubKey ? s.node.link.remote(hub.hubKey) : undefined;
  const channels = new Map((s.dataPlane?.status() ?? []).map((c) => [c.overlay, c]));
  const peers: PeerEntryJson[] = s.node.peers().map((p) => {
    const remote = s.node.link.remote(Buffer.from(p.publicKey, 'base64'));
    const t = s.node.remotes.lookup(ipv4ToU32(p.overlay))?.traffic;
    const ch = channels.get(p.overlay);
    const path = p.session ? p.path : null;
    const info = s.node.map.get(ipv4ToU32(p.overlay));
    return {
      name: p.name,
      address: p.overlay,
      ...(info?.overlay6 !== undefined ? { address6: info.overlay6 } : {}),
      publicKey: p.publicKey,
      path,
      endpoint: p.endpoint ?? (path === 'relay' ? s.hubEndpoint : null),
      rttMs: p.rttMs ?? (ch && ch.srttMs > 0 ? ch.srttMs : null),
      lossPct: null,
      lastHeardMsAgo: ago(now, remote?.lastReceivedMs),
      lastHandshakeMsAgo: ago(now, remote?.sessionSinceMs),
      kcpRetransmits: ch?.retransmits ?? 0,
      ...(ch && ch.lanes > 0 ? { kcpSegments: { unacked: ch.waitSnd, unsent: ch.unsent ?? 0 } } : {}),
      ...(ch?.resend ? { kcpResend: ch.resend } : {}),
      ...(ch?.small ? { smallPackets: ch.small } : {}),
      ...(ch?.decision ? { channelMode: { mode: ch.decision.transport, reason: ch.decision.reason, why: ch.decision.why, fec: ch.decision.fec, fecReason: ch.decision.fecReason } } : {}),
      ...(p.nat ? { traversal: p.nat } : {}),
      txPackets: t?.txPackets ?? 0,
      txBytes: t?.txBytes ?? 0,
      rxPackets: t?.rxPackets ?? 0,
      rxBytes: t?.rxBytes ?? 0,
    };
  });
  peers.sort((a, b) => ipv4ToU32(a.address) - ipv4ToU32(b.address));
  const c = s.dataPlane?.counters ?? { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, drops: {} };
  return {
    role: 'peer',
    version: s.version,
    name: s.name,
    address: s.address,
    ...(s.address6 !== undefined ? { address6: s.address6 } : {}),
    publicKey: s.publicKey,
    tun: s.tun,
    mtu: s.mtu,
    transport: s.transport,
    listen: s.listen,
    uptimeMs: Math.round(now - s.startedMs),
    hub: {
      endpoint: s.hubEndpoint,
      registered: hub.state === 'registered',
      reflexive: hub.observed ? endpointKey(hub.observed) : null,
      lastHeardMsAgo: ago(now, hubRemote?.lastReceivedMs),
      ...(hub.state !== 'registered' && hub.lastRefusal ? { refused: hub.lastRefusal.message } : {}),
    },
    traffic: { txPackets: c.txPackets, txBytes: c.txBytes, rxPackets: c.rxPackets, rxBytes: c.rxBytes },
    ...('v6' in c ? { traffic6: { ...c.v6 } } : {}),
    drops: { ...c.drops },
    peers,
    ...(s.nat ? { nat: { ...s.nat, portMap: [...s.nat.portMap] } } : {}),
    services: s.node.publishStatus().map((p) => ({
      name: p.name,
      port: p.publicPort,
      target: p.target,
      state: p.state,
      ...(p.reason !== undefined ? { reason: p.reason } : {}),
      connections: p.connections,
      totalConnections: p.totalConnections,
      bytesIn: p.bytesIn,
      bytesOut: p.bytesOut,
    })),
    ...staleJson(s.node.link.lastStaleHandshake, now),
    acl: { ...s.node.firewall.status(), malformedPolicies: s.node.aclPolicies.counters.malformed },
  };
}

function staleJson(st: { remote: string; from: string; skewMs: number; atMs: number } | undefined, now: number): { staleHandshake?: StaleHandshakeJson } {
  return st ? { staleHandshake: { remote: st.remote, from: st.from, skewS: Math.round(st.skewMs / 1000), agoMs: Math.max(0, Math.round(now - st.atMs)) } } : {};
}
