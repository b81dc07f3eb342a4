// What the hub's publisher is given (publish/hub-publisher.ts): its options and --publish-* limits,
// the member it talks about, and the several-hubs view of the network it is handed by hub/hub.ts
// (hub/publish-cluster.ts builds it). Types and default limits only; no behaviour.
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { ControlMessage } from '../wire/control.js';
import type { ClaimView } from './guest-plan.js';
import type { PortRange } from './spec.js';

/** Several hubs (issue 24 item 3; structurally hub/service-claims.ts and the shared map): published
 * ports are claims network-wide, and every hub listens on every claimed port within its
 * --allow-publish, serving visitors of a member homed elsewhere over the session that member keeps
 * with this hub (its standby). hub/hub.ts wires it from the NetworkState. */
export interface PublishCluster {
  claims: {
    claim(c: ClaimView, stale: (holder: string) => boolean): Promise<true | { holder: string; name: string }>;
    release(port: number, owner: string): void;
    all(): ClaimView[];
    onChange(fn: () => void): void;
  };
  /** A member of the network's map by key id (any hub's); undefined when it is not in it. */
  member(id: string): PublishMember | undefined;
  /** Whether the key is one of this hub's own members. */
  isLocal(id: string): boolean;
  /** Whether this hub has a session with the key now (a member homed elsewhere keeps one with its standby). */
  reachable(publicKey: Uint8Array): boolean;
  /** Whether the member is homed on another live hub (its claims outlive its leaving this one). */
  homedElsewhere(id: string): boolean;
  /** The key id of a public key (link/key-id.ts). */
  idOf(publicKey: Uint8Array): string;
}

/** Local tuning: concurrent visitor connections per service (more are reset at once). */
export const defaultMaxConnsPerService = 256;
/** Local tuning: services one member may publish (each is a listening socket on the hub). */
export const defaultMaxServicesPerMember = 8;

/** The member a hook is about (structurally hub/registry.ts Member). */
export interface PublishMember {
  id: string;
  publicKey: Uint8Array;
  name: string;
}

/** The --publish-* limits (absent = the defaults). */
export interface PublishLimits {
  /** Open connections per visitor IP across all services (--publish-max-conns-per-ip). */
  maxConnsPerIp?: number;
  /** New connections per second per visitor IP (--publish-accept-rate), burst 4x. */
  acceptsPerSec?: number;
  /** Close a connection with no bytes either way for this long; 0 = never (--publish-idle-timeout). */
  idleTimeoutMs?: number;
  /** Budget for bytes buffered in all visitor streams (--publish-buffer-mb). */
  bufferBytes?: number;
  /** Services one member may publish (--publish-max-services). */
  maxServicesPerMember?: number;
}

export interface HubPublisherOptions extends PublishLimits {
  allow: readonly PortRange[];
  /** Address the public ports listen on (the hub's --listen IP, or 0.0.0.0). */
  listenHost: string;
  clock: Clock;
  log: Logger;
  maxConnsPerService?: number;
  /** Sends an inner message on the member's hub session (link.send). */
  send(publicKey: Uint8Array, inner: Uint8Array): void;
  /** Sends a control message to the member, retransmitted until ACK(seq); onGiveUp when never acked. */
  sendReliable(member: PublishMember, make: (seq: number) => ControlMessage, onGiveUp: () => void): void;
  /** Sends a control message once (answers). */
  sendControl(publicKey: Uint8Array, msg: ControlMessage): void;
  /** Several hubs: network-wide port claims and guest listeners; absent on a single hub. */
  cluster?: PublishCluster;
}
