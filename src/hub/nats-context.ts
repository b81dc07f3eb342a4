// What the parts of the NATS shared state (hub/nats-state.ts composes them: nats-presence, nats-feed,
// nats-members, nats-claims, nats-leases) share: the options, the connection and buckets, the
// registries they keep, and the mirrors of the buckets. One object, made once per hub.
import type { KV, NatsConnection } from 'nats';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Binding, BindingTable } from './bindings.js';
import { natOfRecord, overlay6Of, type MemberRecord } from './nats-names.js';
import type { Network, Registry } from './registry.js';

export interface NatsStateOptions {
  /** nats://host:port seeds (--cluster, repeatable). */
  servers: string[];
  /** --cluster-creds FILE: a NATS .creds file (JWT and NKey seed), or one line `user:password`, or a token. */
  credsFile?: string;
  network: Network;
  /** The network secret's key: buckets are named from its hash with the CIDR. */
  psk: Uint8Array;
  /** This hub's id in the shared state (a prefix of its key id). */
  hubId: string;
  clock: Clock;
  log: Logger;
  presenceTtlMs?: number;
  replicas?: number;
  /** Use only `servers`, not the others the NATS cluster announces (tests cutting one hub off). */
  onlyListedServers?: boolean;
  /** Bindings from --allow-keys-file: written to the shared state at start (the list wins). */
  pinned?: Binding[];
  /** This hub's static public key, published with its presence so the hubs can vouch for each
   * other to their peers (HUB_LIST, wire/hub-list.ts; issue 24). */
  hubKey?: Uint8Array;
  /** --binding-lease-days in ms (hub/lease-cluster.ts): when a live member's shared last-seen time
   * is rewritten, and which bindings a sweep frees. Default 30 days. */
  bindingLeaseMs?: number;
  /** Tests only: awaited by a sweep between judging a binding and deleting it (a registration that
   * lands meanwhile must keep its binding). */
  sweepJudged?: (id: string) => Promise<void>;
  /** A digest of this hub's --acl policy (hub/acl-digest.ts), published with its presence so the
   * hubs can tell when they load different files. */
  aclDigest?: string;
}

export interface NatsCtx {
  readonly o: NatsStateOptions;
  readonly log: Logger;
  readonly nc: NatsConnection;
  /** Bucket name prefix (nats-names.ts bucketPrefix). */
  readonly prefix: string;
  readonly claims: KV;
  readonly membersKv: KV;
  readonly hubsKv: KV;
  readonly ttlMs: number;
  readonly refreshMs: number;
  readonly leaseMs: number;
  readonly startedMs: number;
  /** This hub's own members, the map it serves, the bindings it decides REGISTER against. */
  readonly members: Registry;
  readonly map: Registry;
  readonly bindings: BindingTable;
  /** 'connected' | 'reconnecting' (the NATS connection's status feed). */
  connection: string;
  closed: boolean;
  /** Every member entry in the bucket (alive home or not), with its revision. */
  readonly entries: Map<string, { rec: MemberRecord; rev: number }>;
  /** The revision of each own member's entry as this hub last wrote it. */
  readonly ownRev: Map<string, number>;
  /** Writes per member, in order (a put then a delete of the same member must land in that order). */
  readonly chains: Map<string, Promise<void>>;
  /** Each binding record's revision and last-seen time as the shared state holds it (the claims
   * watch and this hub's writes): touches and claims write over it by compare-and-set. */
  readonly bindingRevs: Map<string, { rev: number; lastSeenMs: number }>;
  /** When each watch last delivered this hub's own heartbeat key: the stalled-watch detector. */
  readonly watchSeen: { hubs: number; claims: number; members: number };
  /** When this hub's own presence last came back through the feed (watch or catchUp): while it is
   * not heard, the feed is behind and no other hub's silence proves its death (feedCurrent). */
  ownBeatHeardMs: number;
  /** When a heartbeat write sent at that time was last acknowledged. */
  lastAckedWriteMs: number;
  /** The served map changed (the hub cuts deltas). */
  mapChanged: () => void;
  /** A member of ours registered on another hub. */
  rehomed: (id: string) => void;
}

/** Puts a member entry into the served map; true when the map changed. */
export function showInMap(c: NatsCtx, id: string, rec: MemberRecord): boolean {
  const { member, changed } = c.map.upsert(
    { publicKey: new Uint8Array(Buffer.from(rec.publicKey, 'base64')), id, overlay: rec.overlay >>> 0, ...overlay6Of(rec), name: rec.name, bootId: BigInt(rec.bootId), reflexive: rec.reflexive, lan: rec.lan },
    c.o.clock.now(),
  );
  // Not part of the served map (no new version): read by PUNCH (hub/cluster-forward.ts).
  const nat = natOfRecord(rec.nat);
  if (nat) member.nat = nat;
  else delete member.nat;
  return changed;
}
