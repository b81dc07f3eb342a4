// Which endpoints of a remote peer are worth probing (pure; node.ts feeds them to PeerPaths): its
// LAN endpoints and its reflexive one from the map, minus endpoints no member may make us probe.
import { sameEndpoint, type Endpoint } from '../net/udp.js';
import { endpointRejection, type OverlayPrefix } from '../util/endpoint-filter.js';
import type { PeerInfo } from './peer-map.js';
import type { DirectCandidate } from './peer-paths.js';

/** The candidates the map lists for `peer`; `own` is our socket's address (never probed). */
export function mapCandidates(peer: PeerInfo, own: Endpoint): DirectCandidate[] {
  // A LAN endpoint equal to the reflexive one is a host on the open internet: direct, not LAN.
  const out: DirectCandidate[] = peer.lan.filter((e) => !sameEndpoint(e, own) && !sameEndpoint(e, peer.reflexive)).map((endpoint) => ({ kind: advertisedKind(endpoint, peer.reflexive), endpoint }));
  if (peer.reflexive.address !== '0.0.0.0') out.push({ kind: 'direct', endpoint: peer.reflexive });
  return out;
}

/** The kind of an endpoint a peer advertised beside its LAN ones: one on its reflexive (public)
 * address is a port mapping on its NAT (nat/port-mapper.ts), a public candidate, not a LAN one. */
export function advertisedKind(e: Endpoint, reflexive: Endpoint): 'lan' | 'direct' {
  return e.address === reflexive.address && reflexive.address !== '0.0.0.0' ? 'direct' : 'lan';
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
