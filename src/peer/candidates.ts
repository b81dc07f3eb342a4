// Which endpoints of a remote peer are worth probing (pure; node.ts feeds them to PeerPaths): its
// LAN endpoints and its reflexive one from the map, minus endpoints no member may make us probe.
import { sameEndpoint, type Endpoint } from '../net/udp.js';
import { endpointRejection, isGlobalIpv6, type OverlayPrefix } from '../util/endpoint-filter.js';
import type { PeerInfo } from './peer-map.js';
import type { DirectCandidate } from './peer-paths.js';

/** The candidates the map lists for `peer`; `own` is our socket's address (never probed). */
export function mapCandidates(peer: PeerInfo, own: Endpoint): DirectCandidate[] {
  // A LAN endpoint equal to the reflexive one is a host on the open internet: direct, not LAN.
  // LAN endpoints keep the order the peer advertised them (a port mapping first: nat/port-mapper.ts),
  // then the reflexive one, then global IPv6 ones (issue 22: no NAT in front of them).
  const lan = peer.lan.filter((e) => !sameEndpoint(e, own) && !sameEndpoint(e, peer.reflexive));
  const out: DirectCandidate[] = lan.filter((e) => !isGlobalIpv6(e.address)).map((endpoint) => ({ kind: advertisedKind(endpoint, peer.reflexive), endpoint }));
  if (peer.reflexive.address !== '0.0.0.0' && peer.reflexive.address !== '::') out.push({ kind: 'direct', endpoint: peer.reflexive });
  for (const endpoint of lan) if (isGlobalIpv6(endpoint.address)) out.push({ kind: 'direct', endpoint });
  return out;
}

/** The kind of an endpoint a peer advertised beside its LAN ones: a global IPv6 address is direct
 * (no NAT in front of it; issue 22), so is one on its reflexive (public) address (a port mapping on
 * its NAT: nat/port-mapper.ts); the rest are LAN candidates. */
export function advertisedKind(e: Endpoint, reflexive: Endpoint): 'lan' | 'direct' {
  if (isGlobalIpv6(e.address)) return 'direct';
  return e.address === reflexive.address && reflexive.address !== '0.0.0.0' && reflexive.address !== '::' ? 'direct' : 'lan';
}

/** Candidates minus endpoints no member may make us probe (util/endpoint-filter.ts): loopback,
 * link-local, multicast, broadcast, unspecified, and addresses inside our overlay (a TUN address
 * would move the path into the tunnel itself). `refused` counts the others. */
export function usableCandidates(cands: readonly DirectCandidate[], overlay: OverlayPrefix): { usable: DirectCandidate[]; refused: number } {
  const usable: DirectCandidate[] = [];
  let refused = 0;
  for (const c of cands) {
    if (endpointRejection(c.endpoint, overlay) === undefined) usable.push(c);
    else refused++;
  }
  return { usable, refused };
}
