// Several hubs (issue 24 item 3): the publisher's view of the cluster (publish/hub-publisher.ts
// PublishCluster) built from the shared network state: the network-wide port claims, the members of
// the served map, and this hub's sessions (a member homed elsewhere keeps one with its standby hub).
import { keyId } from '../link/key-id.js';
import type { Link } from '../link/link.js';
import type { PublishCluster } from '../publish/hub-publisher.js';
import type { NetworkState } from './network-state.js';
import type { ServiceClaims } from './service-claims.js';

export function publishCluster(state: NetworkState, claims: ServiceClaims, link: Link): PublishCluster {
  return {
    claims,
    member: (id) => state.map.get(id),
    isLocal: (id) => state.members.get(id) !== undefined,
    reachable: (publicKey) => link.hasSession(publicKey),
    homedElsewhere: (id) => state.bus?.homeOf(id) !== undefined,
    idOf: keyId,
  };
}
