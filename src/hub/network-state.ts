// The network's shared state as one hub uses it: its own members, the map it serves, the durable
// key -> address/name bindings, and the claim that makes a new binding unique network-wide. One
// interface, two implementations: memoryState() here (one hub, nothing else to run: today's registry,
// the default) and hub/nats-state.ts (several hubs sharing NATS JetStream, `meshd hub --cluster`).
// hub/server.ts decides REGISTER against it; hub/hub.ts builds it.
import type { Endpoint } from '../net/udp.js';
import type { RefusalReason } from '../wire/control.js';
import { BindingTable, type Binding } from './bindings.js';
import { Registry, type Member, type Network } from './registry.js';
import type { ServiceClaims } from './service-claims.js';

/** A claim another key won first (the REGISTER is refused with it). */
export interface ClaimLost {
  reason: RefusalReason;
  text: string;
}

/** The cluster as `meshd status` on a hub shows it (absent on a single hub). */
export interface ClusterStatus {
  /** This hub's id in the shared state. */
  hubId: string;
  /** 'connected' | 'reconnecting' | 'closed' (the NATS connection). */
  connection: string;
  /** Other hubs seen alive, with the members homed on each. */
  hubs: Array<{ hubId: string; members: number; lastSeenAgoMs: number }>;
  /** Members of the whole network in the served map. */
  mapMembers: number;
  /** Hub-to-hub signals on NATS (PUNCH, hub/cluster-signal.ts; never data) sent and received. */
  signals?: { sent: number; received: number; refused: number };
  /** Watches made again because they stopped delivering (hub/nats-state.ts watchStalled). */
  watchRestarts?: number;
  /** This hub's presence writes: how many failed (each retried within the TTL), how long since one
   * was acknowledged. While they fail, no other hub is judged dead (presence-grace.ts). */
  presence?: { writeFailures: number; lastWriteAgoMs: number };
  /** Members homed on this hub in the served map (the map's entries naming it). */
  ownMembers?: number;
  /** Whether this hub's own view of presence is sound now (presence-grace.ts viewSound): false
   * while it is cut from NATS or its writes or watch fail (a partition: it judges no hub dead). */
  viewSound?: boolean;
  /** This hub's --acl digest (null: none) and the live other hubs whose digest differs
   * (hub/cluster-acl.ts): every hub should load the same policy. */
  acl?: { digest: string | null; mismatched: Array<{ hubId: string; digest: string | null }> };
}

/** Signals between the hubs of one network (hub/cluster-forward.ts): absent on a single hub. */
export interface ClusterBus {
  /** The live hub a member of the served map is homed on; undefined when it is ours, unknown, or its
   * hub is unseen past the presence TTL. */
  homeOf(id: string): string | undefined;
  /** One signal to another hub, at most once; false when it cannot go now (cut from the bus). */
  send(hubId: string, signal: Uint8Array): boolean;
  /** Signals addressed to this hub, as sent (the receiver decodes and checks them). */
  onSignal(fn: (signal: Uint8Array) => void): void;
  /** Publishes this hub's UDP path with its presence (hub/hub-channel.ts: relayed data goes hub to
   * hub over UDP, never over the bus). */
  advertise(path: HubPath): void;
  /** A live other hub's UDP path, as its presence says; undefined when unseen or without one. */
  hubPath(hubId: string): HubPath | undefined;
  /** The live other hub whose presence has this boot epoch (hex), if any. */
  hubByEpoch(epochHex: string): string | undefined;
}

/** Where and how another hub takes hub-to-hub data (published with its presence). */
export interface HubPath {
  /** Its static public key (the hub-to-hub keys are derived from it: crypto/hub-data.ts). */
  publicKey: Uint8Array;
  /** Its UDP address(es) other hubs send to (--cluster-advertise, or --listen when specific). */
  endpoints: Endpoint[];
  /** Random per hub start (8 bytes). */
  epoch: Uint8Array;
}

export interface NetworkState {
  /** This hub's own members (registration, heartbeats, expiry, punch and relay read it). */
  readonly members: Registry;
  /** The versioned map this hub serves to its members (deltas are cut from its change log): every
   * hub's members. On a single hub it is `members` itself. */
  readonly map: Registry;
  /** Durable key -> address/name bindings as this hub sees them; REGISTER is decided against them. */
  readonly bindings: BindingTable;
  /**
   * Makes a new or changed binding, decided against `bindings`, hold network-wide before
   * REGISTER_OK. `true` when it holds at once (a single hub: its table is the only one); else a
   * promise of `true`, or of the refusal when another key got the address or name first. The
   * promise rejects when the shared state cannot be reached (the claim is not risked).
   */
  claim(b: Binding, old: Binding | undefined): true | Promise<true | ClaimLost>;
  /** One of this hub's members joined, changed its map entry, or left (`gone`). */
  memberChanged(m: Member, gone: boolean): void;
  /** Told when the served map changed without this hub's doing (another hub's member). */
  onMapChanged(fn: () => void): void;
  /** Told when one of this hub's members registered on another hub since (several hubs: the old
   * home lets it go instead of relaying to it until its heartbeats expire). */
  onRehomed?(fn: (id: string) => void): void;
  /** Frees a binding network-wide (`meshd hub release`, lease expiry). */
  release(b: Binding): void;
  /** Several hubs: this hub's member `id` was seen alive at nowWallMs; its network-wide last-seen
   * time is rewritten when due (hub/lease-cluster.ts touchDue). Resolves once written or skipped. */
  seen?(id: string, nowWallMs: number): Promise<void>;
  /** Several hubs: frees the bindings whose lease ran out when this hub takes the sweep (one hub at a
   * time); resolves with the bindings freed ([] when another hub sweeps or none ran out). */
  sweepLeases?(nowWallMs: number): Promise<Binding[]>;
  /** Published ports claimed network-wide (hub/service-claims.ts; several hubs only). */
  readonly services?: ServiceClaims;
  /** PUNCH and relay to members of other hubs (several hubs only). */
  readonly bus?: ClusterBus;
  /** Whether this hub shares its state (the cluster section of `meshd status`). */
  status(): ClusterStatus | undefined;
  /** Several hubs: the static keys of the live hubs of the network (this one first), which a hub
   * vouches for to its peers (HUB_LIST, hub/hub-list.ts). Absent on a single hub. */
  hubKeys?(): Uint8Array[];
  /** Several hubs: this hub's --acl digest changed (a SIGHUP reload; hub/cluster-acl.ts), published
   * with its next presence. */
  setAclDigest?(digest: string | undefined): void;
  close(): Promise<void>;
}

/** One hub, nothing else to run: the registry is the map, the binding table the only one. The hot
 * path is exactly the registry's (no copy, no await); persistence of the table stays in hub.ts. */
export function memoryState(network: Network, bindings: BindingTable): NetworkState {
  const members = new Registry(network);
  return {
    members,
    map: members,
    bindings,
    claim: () => true,
    memberChanged: () => undefined,
    onMapChanged: () => undefined,
    release: (b) => {
      bindings.delete(b.id);
    },
    status: () => undefined,
    close: async () => undefined,
  };
}
