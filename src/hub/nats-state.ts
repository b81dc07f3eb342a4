// The network state shared by several hubs through NATS JetStream (`meshd hub --cluster`): the
// NetworkState of hub/network-state.ts over three KV buckets. The only file that imports the NATS
// client (test/deps.test.ts). Buckets are named from a hash of the network secret and CIDR, so hubs
// given the same NATS and secret share one network and other networks never meet:
//   <p>_claims   addr.<u32> and name.<hex utf8> -> key id, created with compare-and-set (exactly one
//                key wins an address or a name network-wide); key.<id> -> the binding (JSON)
//                svc.<port> -> {owner, name}: a published port, network-wide (hub/service-claims.ts)
//   <p>_members  m.<id> -> a member's map entry and its home hub, written by the home hub when the
//                entry changes; the watch is the change feed every hub's served map follows
//   <p>_hubs     h.<hubId> -> presence, refreshed every presenceRefreshMs; a hub unseen for
//                presenceTtlMs is dead and its members leave every map (their entries are deleted,
//                compare-and-set on the revision so a member that re-homed meanwhile stays); judged
//                only while this hub's own presence writes and watch work (hub/presence-grace.ts);
//                the value also carries the hub's UDP path for relayed data (hub/hub-path.ts)
// Hub-to-hub signals (PUNCH for members homed elsewhere, hub/cluster-signal.ts; relayed data goes hub
// to hub over UDP, hub/hub-channel.ts, each hub's UDP path published with its presence)
// go on the NATS core subject <p>.hub.<hubId>, at most once, never stored.
// Presence is judged on the local clock from the watch's refreshes (nats-server 2.9 removes aged
// messages without telling watchers), so hosts' wall clocks need not agree.
// (Past 400 lines on purpose: the watches, presence, claims and member writes share one connection
// and the mirrors they keep; the pure parts, bucket and key names and the creds file, are exported.)
import { canonicalIpv6 } from '../util/ipv6.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  connect, credsAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator,
  type Authenticator, type KV, type KvEntry, type NatsConnection, type QueuedIterator,
} from 'nats';
import type { Endpoint } from '../net/udp.js';
import { ConfigError, MeshdError } from '../util/errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import { RefusalReason } from '../wire/control.js';
import { decodeNatClass, encodeNatClass, NAT_CLASS_BYTES, type NatClass } from '../wire/nat-class.js';
import { BindingTable, dayMs, defaultBindingLeaseDays, type Binding } from './bindings.js';
import { sweepable, touchDue } from './lease-cluster.js';
import type { ClaimLost, ClusterStatus, HubPath, NetworkState } from './network-state.js';
import { hubPathOf, hubPathRecord, type HubPathRecord } from './hub-path.js';
import { hubAlive, viewSound } from './presence-grace.js';
import { Registry, type Member, type Network } from './registry.js';
import { KvServiceClaims, serviceKeyPrefix } from './service-claims.js';

/** Local policy: a hub unseen this long is dead and its members leave the map (unless they re-home).
 * 15 s: well past a NATS leader election (~2-5 s) and a few missed refreshes, short beside a
 * peer's 70 s heartbeat expiry. */
export const defaultPresenceTtlMs = 15_000;
/** Local tuning: presence refresh, a fifth of the TTL (four refreshes may be lost). */
export const presenceRefreshFraction = 5;
/** Local tuning: replicas of each bucket (a 3-node NATS loses one node and changes nothing visible). */
export const defaultReplicas = 3;
/** Local policy: after a restart, entries of this hub's members that have not registered again
 * within this long are deleted (a peer re-registers within one 20 s heartbeat plus its timeout). */
export const readoptGraceMs = 60_000;
/** Local tuning: a member entry write that fails (NATS reconnecting, a stream electing a new
 * leader after a node loss: ~5 s measured) is tried again after this, doubling to 8 s, at most
 * `memberWriteRetries` times (~30 s in all); the next change or reconnect writes it anyway. */
export const memberWriteRetryMs = 250;
export const memberWriteRetries = 8;
/** Local tuning: a failed presence write is tried again after this, doubling while under a refresh. */
export const presenceRetryMs = 250;
/** Local tuning: a KV request unanswered this long fails (the claim is not risked). */
export const kvTimeoutMs = 5_000;
/** Local tuning: unanswered client PINGs before the NATS connection counts as down (nats.js then
 * reconnects). */
export const natsMaxPingOut = 2;

/** The client PING interval for a presence TTL (pure): a silent cut (packets dropped, no TCP reset)
 * must read as 'reconnecting' within (natsMaxPingOut + 1) PINGs, well inside one TTL, or this hub
 * would judge every other hub dead and drop their members from the map it serves (nats.js's default,
 * 2 min, noticed a cut only after minutes). At least 500 ms: a few bytes a second per hub. */
export function natsPingIntervalMs(presenceTtlMs: number): number {
  return Math.max(500, Math.floor(presenceTtlMs / (2 * (natsMaxPingOut + 1) + 1)));
}

/** Local tuning: tries at start to make each watch (5 s each, kvTimeoutMs): a consumer placed on a
 * NATS node that was killed kept timing out for 30-40 s in the e2e test. */
export const startWatchAttempts = 12;

/** Local tuning: changes read by sequence per refresh while a watch is stalled (catchUp below):
 * bounded work per refresh, more than one refresh's changes of a 10,000-member hub. */
export const catchUpBatch = 2_000;

/** Local tuning: a watch that has not delivered this hub's own heartbeat key for this many presence
 * refreshes, while newer heartbeat writes were acknowledged, is stalled and made again (a watch
 * whose consumer sat on a killed NATS node could stay silent 20-60 s in nats.js 2.x). */
export const watchStallRefreshes = 3;

/** Whether a watch is stalled (pure): its own heartbeat key, written every refresh, unseen for
 * `stallMs` although a write was acknowledged after the last one it delivered (NATS answers writes,
 * so the silence is the watch's, not a cut from NATS). */
export function watchStalled(nowMs: number, lastSeenMs: number, lastAckedWriteMs: number, stallMs: number): boolean {
  return lastAckedWriteMs > lastSeenMs && nowMs - lastSeenMs > stallMs;
}

/** Local tuning: this hub's own presence unheard for this many refreshes means the feed is behind. */
export const feedBehindRefreshes = 3;

/** Whether the presence feed is current enough to judge other hubs dead by their silence (pure):
 * this hub heard its own presence (written every refresh) within feedBehindRefreshes refreshes. */
export function feedCurrent(nowMs: number, ownBeatHeardMs: number, refreshMs: number): boolean {
  return nowMs - ownBeatHeardMs <= feedBehindRefreshes * refreshMs;
}

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
}

/** The shared state cannot be joined at start: code CLUSTER_AUTH (the NATS refused the
 * --cluster-creds) or CLUSTER_UNREACHABLE (no --cluster server answered, or JetStream refused). */
export class ClusterError extends MeshdError {}

function clusterError(e: unknown, servers: string[]): ClusterError {
  const code = String((e as { code?: unknown }).code ?? '');
  const why = (e as Error).message ?? String(e);
  if (/AUTH/i.test(code) || /authoriz|authentic/i.test(why)) {
    return new ClusterError('CLUSTER_AUTH', `--cluster: ${servers.join(', ')} refused the credentials (${why}); check --cluster-creds`, { cause: e });
  }
  return new ClusterError('CLUSTER_UNREACHABLE', `--cluster: cannot join the shared network state at ${servers.join(', ')}: ${why}`, { cause: e });
}

/** What a member's entry holds in the members bucket. */
interface MemberRecord {
  home: string;
  publicKey: string;
  overlay: number;
  /** The member's overlay IPv6 address (canonical text), when it has one (issue 22). */
  overlay6?: string;
  name: string;
  bootId: string;
  reflexive: Endpoint;
  lan: Endpoint[];
  /** Its NAT class as hex of the wire's 6 bytes (wire/nat-class.ts), when it reported one: the other
   * hubs pass it in PUNCH to their members (without it an EIM <-> random-port EDM pair across hubs
   * never tries the birthday technique and stays relayed). */
  nat?: string;
}

/** A record's NAT class when it is well-formed (another hub wrote it; anything else is left out). */
export function natOfRecord(v: unknown): NatClass | undefined {
  if (typeof v !== 'string' || !/^[0-9a-f]*$/.test(v) || v.length !== 2 * NAT_CLASS_BYTES) return undefined;
  return decodeNatClass(new Uint8Array(Buffer.from(v, 'hex')));
}

/** The record form of a NAT class (pure; natOfRecord reads it back). */
export function natRecordOf(c: NatClass): string {
  return Buffer.from(encodeNatClass(c)).toString('hex');
}

interface BindingRecord {
  overlay: number;
  name: string;
  lastSeenMs: number;
  pinned: boolean;
}

const enc = new TextEncoder();

/** A record's overlay6 when it is canonical IPv6 text (another hub wrote it; anything else is left out). */
function overlay6Of(rec: MemberRecord): { overlay6?: string } {
  return typeof rec.overlay6 === 'string' && canonicalIpv6(rec.overlay6) === rec.overlay6 ? { overlay6: rec.overlay6 } : {};
}
const dec = new TextDecoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));

/** Bucket name prefix for a network (pure): hubs with the same secret and CIDR share it. */
export function bucketPrefix(psk: Uint8Array, cidr: string): string {
  return `meshd_${createHash('sha256').update('meshd nats state v1\0').update(psk).update(cidr).digest('hex').slice(0, 16)}`;
}

export const addrKey = (overlay: number) => `addr.${overlay >>> 0}`;
export const nameKey = (name: string) => `name.${Buffer.from(name, 'utf8').toString('hex')}`;
const bindingKey = (id: string) => `key.${id}`;
const memberKey = (id: string) => `m.${id}`;
const hubKey = (hubId: string) => `h.${hubId}`;
/** The lease sweep's key in the presence bucket: taken by create (one hub at a time), gone with the
 * bucket's max age (the presence TTL), so a hub that died sweeping holds it no longer than that. */
export const sweepKey = 'sweep';
/** A hub's heartbeat key in the claims and members buckets (never a key id: those are hex). */
const heartbeatId = (hubId: string) => `_hb.${hubId}`;
/** The NATS core subject a hub receives signals on (pure); hub ids are checked to be one token. */
export function signalSubject(prefix: string, hubId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(hubId)) throw new ConfigError('--cluster', `hub id "${hubId}" is not a NATS subject token`);
  return `${prefix}.hub.${hubId}`;
}

/** Reads --cluster-creds (never a flag value): a .creds file, `user:password`, or a token. */
export function authenticatorFrom(path: string): Authenticator {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--cluster-creds', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (text.includes('BEGIN NATS USER JWT')) return credsAuthenticator(enc.encode(text));
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (!line) throw new ConfigError('--cluster-creds', `${path} is empty`);
  const colon = line.indexOf(':');
  return colon > 0 ? usernamePasswordAuthenticator(line.slice(0, colon), line.slice(colon + 1)) : tokenAuthenticator(line);
}

/** A NATS API error that means "the key exists already" (create) or "changed meanwhile" (CAS). */
function lostRace(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err.api_error?.err_code === 10071 || /wrong last sequence/i.test(err.message ?? '');
}

async function openBucket(nc: NatsConnection, name: string, opts: { ttl?: number; replicas: number }, log: Logger): Promise<KV> {
  const js = nc.jetstream({ timeout: kvTimeoutMs });
  const base = { history: 1, timeout: kvTimeoutMs, ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}) };
  try {
    return await js.views.kv(name, { ...base, replicas: opts.replicas });
  } catch (e) {
    if (opts.replicas <= 1) throw e;
    // A NATS of fewer nodes than replicas (one NATS beside a hub): one copy, said loudly.
    log.warn({ bucket: name, replicas: opts.replicas, err: (e as Error).message }, 'nats: cannot create the bucket replicated; using one replica');
    return js.views.kv(name, { ...base, replicas: 1 });
  }
}

export async function startNatsState(o: NatsStateOptions): Promise<NetworkState> {
  const log = o.log;
  const ttlMs = o.presenceTtlMs ?? defaultPresenceTtlMs;
  const refreshMs = Math.max(100, Math.floor(ttlMs / presenceRefreshFraction));
  const authenticator = o.credsFile !== undefined ? authenticatorFrom(o.credsFile) : undefined;
  const nc = await connect({
    servers: o.servers,
    name: `meshd-hub-${o.hubId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: natsPingIntervalMs(ttlMs),
    maxPingOut: natsMaxPingOut,
    ...(o.onlyListedServers ? { ignoreClusterUpdates: true } : {}),
    ...(authenticator ? { authenticator } : {}),
  }).catch((e: unknown) => {
    throw clusterError(e, o.servers);
  });
  let connection = 'connected';
  let reconnected: () => void = () => undefined;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') connection = 'reconnecting';
      else if (s.type === 'reconnect') {
        connection = 'connected';
        reconnected();
      }
      if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ event: s.type, server: s.data }, `nats: ${s.type}`);
    }
  })();
  const prefix = bucketPrefix(o.psk, o.network.cidr);
  const replicas = o.replicas ?? defaultReplicas;
  let claims: KV, membersKv: KV, hubsKv: KV;
  try {
    claims = await openBucket(nc, `${prefix}_claims`, { replicas }, log);
    membersKv = await openBucket(nc, `${prefix}_members`, { replicas }, log);
    hubsKv = await openBucket(nc, `${prefix}_hubs`, { replicas, ttl: ttlMs }, log);
  } catch (e) {
    await nc.close();
    throw clusterError(e, o.servers);
  }

  const members = new Registry(o.network);
  const map = new Registry(o.network);
  const bindings = new BindingTable(o.pinned ?? []);
  const startedMs = o.clock.now();
  const hubSeen = new Map<string, number>();
  const leaseMs = o.bindingLeaseMs ?? defaultBindingLeaseDays * dayMs;
  /** Each binding record's revision and last-seen time as the shared state holds it (the claims
   * watch and this hub's writes): touches and claims write over it by compare-and-set. */
  const bindingRevs = new Map<string, { rev: number; lastSeenMs: number }>();
  const touching = new Set<string>();
  /** Other hubs' static keys from their presence (base64), for HUB_LIST. */
  const hubKeysSeen = new Map<string, string>();
  /** Every member entry in the bucket (alive home or not), with its revision. */
  const entries = new Map<string, { rec: MemberRecord; rev: number }>();
  /** The revision of each own member's entry as this hub last wrote it. */
  const ownRev = new Map<string, number>();
  /** Writes per member, in order (a put then a delete of the same member must land in that order). */
  const chains = new Map<string, Promise<void>>();
  let mapChanged: () => void = () => undefined;
  let rehomed: (id: string) => void = () => undefined;
  let closed = false;
  /** When each watch last delivered this hub's own heartbeat key, and when a heartbeat write was
   * last acknowledged: the stalled-watch detector (watchStalled). */
  const watchSeen = { hubs: startedMs, claims: startedMs, members: startedMs };
  /** When this hub's own presence last came back through the feed (watch or catchUp): while it is
   * not heard, the feed is behind and no other hub's silence proves its death (feedCurrent). */
  let ownBeatHeardMs = startedMs;
  let lastAckedWriteMs = startedMs;
  let watchRestarts = 0;

  /** Presence writes (presence-grace.ts): the last acknowledged, the last failed, failures in all;
   * and from when other hubs are judged (moved to now whenever this hub's own view is unsound). */
  const presence = { lastAckMs: startedMs, lastFailMs: -Infinity, failures: 0 };
  let graceFromMs = startedMs;
  const alive = (hub: string): boolean => {
    if (hub === o.hubId) return true;
    const now = o.clock.now();
    const view = { connected: connection === 'connected', lastAckMs: presence.lastAckMs, lastFailMs: presence.lastFailMs, lastOwnSeenMs: watchSeen.hubs, refreshMs };
    if (!viewSound(view, now)) graceFromMs = now;
    return hubAlive(now, hubSeen.get(hub) ?? startedMs, graceFromMs, ttlMs);
  };
  const showInMap = (id: string, rec: MemberRecord): boolean => {
    const { member, changed } = map.upsert(
      { publicKey: new Uint8Array(Buffer.from(rec.publicKey, 'base64')), id, overlay: rec.overlay >>> 0, ...overlay6Of(rec), name: rec.name, bootId: BigInt(rec.bootId), reflexive: rec.reflexive, lan: rec.lan },
      o.clock.now(),
    );
    // Not part of the served map (no new version): read by PUNCH (hub/cluster-forward.ts).
    const nat = natOfRecord(rec.nat);
    if (nat) member.nat = nat;
    else delete member.nat;
    return changed;
  };

  /** Other hubs' UDP paths (hub/hub-channel.ts), from their presence, and who holds which epoch. */
  const paths = new Map<string, HubPath>();
  const epochs = new Map<string, string>();
  function learnPath(hub: string, value: Uint8Array): void {
    let path: HubPath | undefined;
    try {
      path = hubPathOf((JSON.parse(dec.decode(value)) as { path?: unknown }).path);
    } catch {
      path = undefined;
    }
    const old = paths.get(hub);
    if (old) epochs.delete(Buffer.from(old.epoch).toString('hex'));
    if (!path) {
      paths.delete(hub);
      return;
    }
    paths.set(hub, path);
    epochs.set(Buffer.from(path.epoch).toString('hex'), hub);
  }

  function onMember(e: KvEntry): void {
    const id = e.key.slice(2);
    if (id.startsWith('_hb.')) return void (id === heartbeatId(o.hubId) && (watchSeen.members = o.clock.now()));
    if (e.operation !== 'PUT') {
      entries.delete(id);
      // Another hub judged this hub dead (its view was wrong): our member stays and is written again.
      const own = members.get(id);
      if (own && !closed) {
        ownRev.delete(id);
        republish(own);
        return;
      }
      if (map.remove(id)) mapChanged();
      return;
    }
    let rec: MemberRecord;
    try {
      rec = JSON.parse(dec.decode(e.value)) as MemberRecord;
    } catch {
      log.warn({ key: e.key }, 'nats: unreadable member entry ignored');
      return;
    }
    entries.set(id, { rec, rev: e.revision });
    // Another hub wrote the entry of a member we hold: it registered there (hub-set failover or a
    // faster hub); written after our own last write, so it is not an old entry of another hub.
    if (rec.home !== o.hubId && members.get(id) !== undefined && e.revision > (ownRev.get(id) ?? 0)) rehomed(id);
    if (alive(rec.home)) {
      if (showInMap(id, rec)) mapChanged();
    } else if (map.remove(id)) mapChanged();
  }

  function onClaim(e: KvEntry): void {
    if (!e.key.startsWith('key.')) return;
    const id = e.key.slice(4);
    if (id.startsWith('_hb.')) return void (id === heartbeatId(o.hubId) && (watchSeen.claims = o.clock.now()));
    if (bindings.get(id)?.pinned) return; // this hub's allow-list wins here
    if (e.operation !== 'PUT') {
      bindings.delete(id);
      bindingRevs.delete(id);
      return;
    }
    try {
      const r = JSON.parse(dec.decode(e.value)) as BindingRecord;
      if (e.revision >= (bindingRevs.get(id)?.rev ?? 0)) bindingRevs.set(id, { rev: e.revision, lastSeenMs: r.lastSeenMs });
      bindings.set({ id, overlay: r.overlay >>> 0, name: r.name, lastSeenMs: r.lastSeenMs, pinned: r.pinned });
    } catch {
      log.warn({ key: e.key }, 'nats: unreadable binding ignored');
    }
  }

  function onHub(e: KvEntry): void {
    if (!e.key.startsWith('h.')) return; // the lease sweep's key (read by sequence in catchUp)
    const hub = e.key.slice(2);
    if (hub === o.hubId) watchSeen.hubs = ownBeatHeardMs = o.clock.now();
    if (e.operation !== 'PUT' || hub === o.hubId) return;
    learnPath(hub, e.value);
    const wasAlive = alive(hub);
    hubSeen.set(hub, o.clock.now());
    try {
      const key = (JSON.parse(dec.decode(e.value)) as { key?: unknown }).key;
      if (typeof key === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(key)) hubKeysSeen.set(hub, key);
    } catch {
      // an older hub's presence, or unreadable: no key to vouch for
    }
    // A hub back from the dead: its members' entries still in the bucket return to the map. And on
    // any presence of a live hub, those of its members' entries that are not in the map return too:
    // an entry that arrived while its hub was unseen (a watch remade after a NATS node was lost
    // delivers members before their hub's presence) was left out, and `alive` may hold again through
    // the grace of an unsound view (presence-grace.ts) without this hub ever being judged back.
    let changed = false;
    for (const [id, { rec }] of entries) if (rec.home === hub && (!wasAlive || map.get(id) === undefined)) changed = showInMap(id, rec) || changed;
    if (changed) mapChanged();
  }

  /** The highest revision applied per bucket, and per key (a watch and catchUp may both deliver a
   * change; an older revision of a key than the one applied is not applied again). */
  const lastRev = { hubs: 0, claims: 0, members: 0 };
  const keyRev = { hubs: new Map<string, number>(), claims: new Map<string, number>(), members: new Map<string, number>() };
  /** Watches judged stalled that have not delivered this hub's heartbeat since: read by sequence
   * every refresh (catchUp). */
  const lagging = new Set<keyof typeof lastRev>();
  function applyOnce(which: keyof typeof lastRev, e: KvEntry, apply: (e: KvEntry) => void): void {
    if (e.revision < (keyRev[which].get(e.key) ?? 0)) return;
    keyRev[which].set(e.key, e.revision);
    lastRev[which] = Math.max(lastRev[which], e.revision);
    try {
      apply(e);
    } catch (err) {
      log.error({ err, key: e.key }, 'nats: applying a change failed');
    }
  }

  /** Follows a bucket from its current values on; resolves once those are applied. */
  async function follow(kv: KV, key: string, apply: (e: KvEntry) => void, which: keyof typeof lastRev): Promise<QueuedIterator<KvEntry>> {
    let ready!: () => void;
    const initialized = new Promise<void>((r) => (ready = r));
    const w = await kv.watch({ key, initializedFn: () => ready() });
    void (async () => {
      for await (const e of w) {
        const seen = watchSeen[which];
        applyOnce(which, e, apply);
        if (watchSeen[which] !== seen) lagging.delete(which); // its own heartbeat: delivering again
      }
    })();
    await initialized;
    return w;
  }

  // The allow-list's bindings first (the operator's list wins over first come, as on one hub).
  for (const b of o.pinned ?? []) {
    await claims.put(addrKey(b.overlay), enc.encode(b.id));
    if (b.name !== '') await claims.put(nameKey(b.name), enc.encode(b.id));
    await claims.put(bindingKey(b.id), json({ overlay: b.overlay, name: b.name, lastSeenMs: b.lastSeenMs, pinned: true }));
  }
  let beat = 0;
  let ownPath: HubPathRecord | undefined;
  const refreshPresence = async (): Promise<void> => {
    const sentMs = o.clock.now();
    const value = json({ members: members.size, beat: ++beat, ...(ownPath ? { path: ownPath } : {}), ...(o.hubKey ? { key: Buffer.from(o.hubKey).toString('base64') } : {}) });
    try {
      await Promise.all([hubsKv.put(hubKey(o.hubId), value), claims.put(`key.${heartbeatId(o.hubId)}`, value), membersKv.put(`m.${heartbeatId(o.hubId)}`, value)]);
    } catch (e) {
      presence.failures++;
      presence.lastFailMs = Math.max(presence.lastFailMs, o.clock.now());
      throw e;
    }
    lastAckedWriteMs = Math.max(lastAckedWriteMs, sentMs);
    presence.lastAckMs = Math.max(presence.lastAckMs, o.clock.now());
  };
  /** A failed refresh is tried again soon (doubling from presenceRetryMs, within a refresh), so the
   * other hubs hear this one as soon as JetStream answers again, not a refresh later. */
  let retryTimer: TimerHandle | undefined;
  const refreshWithRetry = (waitMs = presenceRetryMs): void => {
    if (retryTimer !== undefined) o.clock.clearTimer(retryTimer);
    retryTimer = undefined;
    refreshPresence().catch((e: unknown) => {
      if (waitMs === presenceRetryMs) log.warn({ err: (e as Error).message, failures: presence.failures }, 'nats: presence refresh failed; trying again');
      if (closed || waitMs >= refreshMs) return;
      retryTimer = o.clock.setTimer(waitMs, () => {
        retryTimer = undefined;
        if (!closed) refreshWithRetry(waitMs * 2);
      });
    });
  };
  await refreshPresence();
  let onSignal: (b: Uint8Array) => void = () => undefined;
  const signalCounts = { sent: 0, received: 0, refused: 0 };
  const signals = nc.subscribe(signalSubject(prefix, o.hubId), {
    callback: (err, msg) => {
      if (err) return;
      signalCounts.received++;
      try {
        onSignal(msg.data);
      } catch (e) {
        log.error({ err: e }, 'nats: handling a signal failed');
      }
    },
  });
  // At start a watch's consumer may be placed on a NATS node that is down (its creation times out,
  // as remaking one does): tried again, bounded, rather than the hub exiting while NATS works.
  async function followAtStart(kv: KV, key: string, apply: (e: KvEntry) => void, which: keyof typeof lastRev): Promise<QueuedIterator<KvEntry>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await follow(kv, key, apply, which);
      } catch (e) {
        if (attempt >= startWatchAttempts || closed) throw clusterError(e, o.servers);
        log.warn({ watch: which, attempt, err: (e as Error).message }, 'nats: making a watch failed at start (a NATS node down?); trying again');
      }
    }
  }
  const watches = {
    hubs: await followAtStart(hubsKv, 'h.>', onHub, 'hubs'),
    claims: await followAtStart(claims, 'key.>', onClaim, 'claims'),
    members: await followAtStart(membersKv, 'm.>', onMember, 'members'),
  };
  // Published ports network-wide (hub/service-claims.ts): every hub follows them.
  const services = new KvServiceClaims(claims, () => connection === 'connected' && !closed, log);
  const serviceWatch = await followAtStart(claims, `${serviceKeyPrefix}>`, (e) => services.apply(e), 'claims');

  // While a watch is stalled (its consumer on a lost node: remaking it timed out for 20-40 s in the
  // e2e test), its bucket's changes are read by sequence with direct gets, which any live replica
  // answers without a consumer: a member added, a hub's presence, a claim arrive within a refresh.
  const feeds = {
    hubs: { bucket: `${prefix}_hubs`, apply: onHub },
    // The claims bucket holds published ports too (`svc.`): read by sequence, each goes to its owner.
    claims: { bucket: `${prefix}_claims`, apply: (e: KvEntry) => (e.key.startsWith(serviceKeyPrefix) ? services.apply(e) : onClaim(e)) },
    members: { bucket: `${prefix}_members`, apply: onMember },
  };
  const catchingUp = new Set<keyof typeof watches>();
  async function catchUp(which: keyof typeof watches): Promise<void> {
    if (catchingUp.has(which) || closed) return;
    catchingUp.add(which);
    const { bucket, apply } = feeds[which];
    const subjectPrefix = `$KV.${bucket}.`;
    let read = 0;
    try {
      for (; read < catchUpBatch && !closed; read++) {
        // JetStream's direct get (allow_direct, the default of buckets made on nats-server >= 2.9).
        const m = await nc.request(`$JS.API.DIRECT.GET.KV_${bucket}`, json({ seq: lastRev[which] + 1, next_by_subj: `${subjectPrefix}>` }), { timeout: kvTimeoutMs }).catch(() => undefined);
        const seq = Number(m?.headers?.get('Nats-Sequence'));
        const subject = m?.headers?.get('Nats-Subject') ?? '';
        // Nothing newer (404), no answer, or not a message of this bucket: the next refresh tries again.
        if (m === undefined || !Number.isSafeInteger(seq) || seq <= lastRev[which] || !subject.startsWith(subjectPrefix)) break;
        const op = m.headers?.get('KV-Operation');
        const e = { key: subject.slice(subjectPrefix.length), value: m.data, revision: seq, operation: op === 'DEL' || op === 'PURGE' ? op : 'PUT' } as KvEntry;
        // Not the watch's own delivery: the stall detector keeps judging the watch itself.
        const seen = watchSeen[which];
        applyOnce(which, e, apply);
        watchSeen[which] = seen;
      }
    } finally {
      catchingUp.delete(which);
    }
    if (read > 0) log.info({ watch: which, read, upTo: lastRev[which] }, 'nats: read changes by sequence while a watch is stalled');
  }

  /** Makes a stalled watch again: what was deleted while it was silent is dropped first (the new
   * watch delivers every current value, so what was added or changed comes back with it). */
  async function restartWatch(which: keyof typeof watches, gen: number): Promise<void> {
    watchRestarts++;
    watchSeen[which] = o.clock.now();
    log.warn({ watch: which, restarts: watchRestarts }, 'nats: a watch stopped delivering (its consumer was on a lost NATS node?); making it again');
    watches[which].stop();
    if (gen !== restartGen) return;
    if (which === 'members') {
      const present = new Set<string>();
      for await (const k of await membersKv.keys('m.>')) present.add(k.slice(2));
      let changed = false;
      for (const id of [...entries.keys()]) {
        if (present.has(id)) continue;
        entries.delete(id);
        changed = map.remove(id) !== undefined || changed;
      }
      if (changed) mapChanged();
      adopt('members', await follow(membersKv, 'm.>', onMember, 'members'), gen);
    } else if (which === 'claims') {
      const present = new Set<string>();
      for await (const k of await claims.keys('key.>')) present.add(k.slice(4));
      for (const b of bindings.all()) if (!b.pinned && !present.has(b.id)) bindings.delete(b.id);
      adopt('claims', await follow(claims, 'key.>', onClaim, 'claims'), gen);
    } else {
      adopt('hubs', await follow(hubsKv, 'h.>', onHub, 'hubs'), gen);
    }
  }
  /** A remade watch takes its place unless its restart was given up meanwhile (then it is stopped). */
  function adopt(which: keyof typeof watches, w: QueuedIterator<KvEntry>, gen: number): void {
    if (gen !== restartGen || closed) w.stop();
    else watches[which] = w;
  }
  let restarting = false;
  let restartGen = 0;
  function checkWatches(): void {
    if (closed) return;
    const stallMs = watchStallRefreshes * refreshMs;
    const stalled = (Object.keys(watches) as Array<keyof typeof watches>).filter((w) => watchStalled(o.clock.now(), watchSeen[w], lastAckedWriteMs, stallMs));
    for (const w of stalled) lagging.add(w);
    for (const w of lagging) void catchUp(w);
    if (stalled.length === 0 || restarting) return;
    restarting = true;
    const gen = ++restartGen;
    // A remake that hangs (its new consumer on a node still down) is given up and tried again.
    const guard = o.clock.setTimer(2 * kvTimeoutMs, () => {
      if (gen !== restartGen) return;
      restartGen++;
      restarting = false;
      log.warn({ watches: stalled }, 'nats: making a watch again did not finish; tried again next refresh');
    });
    void (async () => {
      for (const w of stalled) await restartWatch(w, gen);
    })()
      .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'nats: making a watch again failed; tried again next refresh'))
      .finally(() => {
        if (gen !== restartGen) return;
        o.clock.clearTimer(guard);
        restarting = false;
      });
  }

  // Presence: refresh ours; members of hubs unseen for the TTL leave the map and the bucket.
  let timer: TimerHandle = o.clock.setTimer(refreshMs, function tick() {
    if (closed) return;
    refreshWithRetry();
    // Cut from NATS, this hub hears no hub: it keeps its last view rather than expire them all.
    if (connection !== 'connected') {
      timer = o.clock.setTimer(refreshMs, tick);
      return;
    }
    checkWatches();
    // Our own presence not heard back either: the feed is behind (a stalled watch, a silent cut not
    // yet noticed, writes failing cluster-wide), so the other hubs' silence proves nothing.
    if (!feedCurrent(o.clock.now(), ownBeatHeardMs, refreshMs)) {
      timer = o.clock.setTimer(refreshMs, tick);
      return;
    }
    let changed = false;
    const now = o.clock.now();
    for (const [id, { rec, rev }] of entries) {
      // Left by this hub before a restart (same hub id) and not registered again: gone.
      const orphan = rec.home === o.hubId && members.get(id) === undefined && !chains.has(id) && now - startedMs > Math.max(readoptGraceMs, ttlMs);
      if (alive(rec.home) && !orphan) continue;
      if (map.remove(id)) {
        changed = true;
        log.info({ peer: id.slice(0, 8), overlay: u32ToIpv4(rec.overlay), home: rec.home }, 'nats: member leaves the map (its home hub unseen past the presence TTL, or not back since this hub restarted)');
      }
      // Any hub may delete it; the revision check keeps a member that re-homed meanwhile.
      membersKv.delete(memberKey(id), { previousSeq: rev }).catch(() => undefined);
    }
    if (changed) mapChanged();
    timer = o.clock.setTimer(refreshMs, tick);
  });

  /** Sleeps of retrying writes, woken at once by close(). */
  const sleepers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        sleepers.delete(wake);
        o.clock.clearTimer(h);
        resolve();
      };
      const h = o.clock.setTimer(ms, wake);
      sleepers.add(wake);
    });
  async function retrying(work: () => Promise<void>): Promise<void> {
    for (let i = 0, waitMs = memberWriteRetryMs; ; i++, waitMs = Math.min(waitMs * 2, 8_000)) {
      try {
        return await work();
      } catch (e) {
        if (closed || i >= memberWriteRetries) throw e;
        await sleep(waitMs);
        if (closed) throw e;
      }
    }
  }

  function chain(id: string, work: () => Promise<void>): void {
    const next = (chains.get(id) ?? Promise.resolve()).then(() => retrying(work)).catch((e: unknown) => {
      log.warn({ peer: id.slice(0, 8), err: (e as Error).message }, 'nats: member entry not written');
    });
    chains.set(id, next);
    void next.then(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
  }

  const recordOf = (m: Member): MemberRecord => ({
    home: o.hubId, publicKey: Buffer.from(m.publicKey).toString('base64'), overlay: m.overlay, ...(m.overlay6 !== undefined ? { overlay6: m.overlay6 } : {}), name: m.name, bootId: m.bootId.toString(),
    reflexive: { address: m.reflexive.address, port: m.reflexive.port }, lan: m.lan.map((e) => ({ address: e.address, port: e.port })),
    ...(m.nat ? { nat: natRecordOf(m.nat) } : {}),
  });

  /** Writes an own member's entry again after a cut: over our own last revision, or anew when the
   * other hubs deleted it meanwhile; never over an entry another hub wrote (the member re-homed). */
  function republish(m: Member): void {
    const key = memberKey(m.id);
    const value = json(recordOf(m));
    chain(m.id, async () => {
      const rev = ownRev.get(m.id);
      try {
        ownRev.set(m.id, rev === undefined ? await membersKv.create(key, value) : await membersKv.update(key, value, rev));
      } catch (e) {
        if (!lostRace(e)) throw e;
        const cur = await membersKv.get(key);
        if (!cur || cur.operation !== 'PUT') ownRev.set(m.id, await membersKv.create(key, value));
        else if ((JSON.parse(dec.decode(cur.value)) as MemberRecord).home === o.hubId) ownRev.set(m.id, cur.revision);
      }
    });
  }

  /** Takes `key` for `id` unless another key holds it: 'created' (with its revision), 'ours', or the holder. */
  async function take(key: string, id: string): Promise<{ created: number } | 'ours' | { holder: string }> {
    try {
      return { created: await claims.create(key, enc.encode(id)) };
    } catch (e) {
      if (!lostRace(e)) throw e;
      const cur = await claims.get(key);
      const holder = cur && cur.operation === 'PUT' ? dec.decode(cur.value) : undefined;
      if (holder === id) {
        // Written again (same value, new revision): a lease sweep that read the old revision cannot
        // free it under a binding being claimed or refreshed now (its delete compares revisions).
        try {
          await claims.update(key, enc.encode(id), cur!.revision);
          return 'ours';
        } catch (err) {
          if (!lostRace(err)) throw err;
          return take(key, id);
        }
      }
      if (holder === undefined) return take(key, id); // deleted meanwhile: try again
      return { holder };
    }
  }

  /** Frees `key` if `id` still holds it (compare-and-set on its revision). */
  async function free(key: string, id: string): Promise<void> {
    const cur = await claims.get(key);
    if (!cur || cur.operation !== 'PUT' || dec.decode(cur.value) !== id) return;
    await claims.delete(key, { previousSeq: cur.revision }).catch((e: unknown) => {
      if (!lostRace(e)) throw e;
    });
  }

  /** A claim whose binding record changed under it (a lease sweep or another hub): made again. */
  const claimAttempts = 3;
  async function claim(b: Binding, old: Binding | undefined): Promise<true | ClaimLost> {
    for (let attempt = 1; ; attempt++) {
      const r = await claimOnce(b, old);
      if (r !== 'again') return r;
      if (attempt >= claimAttempts) throw new ClusterError('CLUSTER_CONTENDED', `the binding of ${b.id.slice(0, 8)} kept changing during its claim`);
    }
  }

  async function claimOnce(b: Binding, old: Binding | undefined): Promise<true | ClaimLost | 'again'> {
    // Cut from NATS: refused at once rather than risked (the REGISTER goes unanswered; the peer retries).
    if (connection !== 'connected') throw new ClusterError('CLUSTER_UNREACHABLE', 'the NATS connection is down');
    const addr = await take(addrKey(b.overlay), b.id);
    if (typeof addr === 'object' && 'holder' in addr) {
      return { reason: RefusalReason.ADDRESS_IN_USE, text: `${u32ToIpv4(b.overlay)} is bound to another key (another hub of the network)` };
    }
    if (b.name !== '') {
      const name = await take(nameKey(b.name), b.id);
      if (typeof name === 'object' && 'holder' in name) {
        if (typeof addr === 'object') await claims.delete(addrKey(b.overlay), { previousSeq: addr.created }).catch(() => undefined);
        return { reason: RefusalReason.NAME_TAKEN, text: `name "${b.name}" is bound to another key (another hub of the network)` };
      }
    }
    // Over the record's known revision, or anew: a sweep that freed the binding meanwhile makes this
    // fail, and the claim is made again (its address and name taken anew), never left half freed.
    const known = bindingRevs.get(b.id);
    const value = json({ overlay: b.overlay, name: b.name, lastSeenMs: b.lastSeenMs, pinned: b.pinned });
    let rev: number;
    try {
      rev = known ? await claims.update(bindingKey(b.id), value, known.rev) : await claims.create(bindingKey(b.id), value);
    } catch (e) {
      if (!lostRace(e)) throw e;
      const cur = await claims.get(bindingKey(b.id));
      if (cur && cur.operation === 'PUT') bindingRevs.set(b.id, { rev: cur.revision, lastSeenMs: (JSON.parse(dec.decode(cur.value)) as BindingRecord).lastSeenMs });
      else bindingRevs.delete(b.id);
      return 'again';
    }
    if (rev > (bindingRevs.get(b.id)?.rev ?? 0)) bindingRevs.set(b.id, { rev, lastSeenMs: b.lastSeenMs });
    if (old && old.overlay !== b.overlay) await free(addrKey(old.overlay), b.id);
    if (old && old.name !== '' && old.name !== b.name) await free(nameKey(old.name), b.id);
    bindings.set(b);
    return true;
  }

  /** The home hub saw its member alive: the shared last-seen time is rewritten when due (lease-cluster.ts). */
  async function seen(id: string, nowWallMs: number): Promise<void> {
    const b = bindings.get(id);
    if (closed || connection !== 'connected' || !b || b.pinned || touching.has(id)) return;
    const known = bindingRevs.get(id);
    if (known && !touchDue(known.lastSeenMs, nowWallMs, leaseMs)) return;
    touching.add(id);
    try {
      const fresh = { ...b, lastSeenMs: nowWallMs };
      if (known) {
        try {
          const rev = await claims.update(bindingKey(id), json({ overlay: b.overlay, name: b.name, lastSeenMs: nowWallMs, pinned: false }), known.rev);
          if (rev > (bindingRevs.get(id)?.rev ?? 0)) bindingRevs.set(id, { rev, lastSeenMs: nowWallMs });
          return;
        } catch (e) {
          if (!lostRace(e)) throw e;
        }
      }
      // Changed or freed meanwhile (a sweep that judged it before this member came back): claimed
      // again, over whatever is there now.
      const cur = await claims.get(bindingKey(id));
      if (cur && cur.operation === 'PUT') bindingRevs.set(id, { rev: cur.revision, lastSeenMs: (JSON.parse(dec.decode(cur.value)) as BindingRecord).lastSeenMs });
      else bindingRevs.delete(id);
      const r = await claim(fresh, undefined);
      if (r !== true) log.error({ peer: id.slice(0, 8), why: r.text }, 'nats: a live member lost its binding to another key (its lease was swept as it came back)');
    } catch (e) {
      log.warn({ peer: id.slice(0, 8), err: (e as Error).message }, 'nats: last-seen time not written (tried again when next seen)');
    } finally {
      touching.delete(id);
    }
  }

  /** Frees the bindings whose lease ran out, if this hub takes the sweep key. Each is judged again on
   * its shared record and deleted by compare-and-set on the revisions read (binding record, then its
   * address and name): a key that registers meanwhile rewrites them, and keeps its binding. */
  async function sweepLeases(nowWallMs: number): Promise<Binding[]> {
    if (closed || connection !== 'connected') return [];
    const inMap = (id: string) => map.get(id) !== undefined || members.get(id) !== undefined;
    const due = bindings.all().filter((b) => sweepable(b, inMap(b.id), nowWallMs, leaseMs));
    if (due.length === 0) return [];
    try {
      await hubsKv.create(sweepKey, json({ hub: o.hubId }));
    } catch (e) {
      if (lostRace(e)) return []; // another hub sweeps
      throw e;
    }
    const freed: Binding[] = [];
    for (const b of due) {
      if (closed) break;
      const cur = await claims.get(bindingKey(b.id));
      if (!cur || cur.operation !== 'PUT') continue;
      let r: BindingRecord;
      try {
        r = JSON.parse(dec.decode(cur.value)) as BindingRecord;
      } catch {
        continue;
      }
      const shared: Binding = { id: b.id, overlay: r.overlay >>> 0, name: r.name, lastSeenMs: r.lastSeenMs, pinned: r.pinned };
      if (!sweepable(shared, inMap(b.id), nowWallMs, leaseMs)) continue;
      const holds = [await claims.get(addrKey(shared.overlay)), shared.name !== '' ? await claims.get(nameKey(shared.name)) : null];
      await o.sweepJudged?.(b.id);
      try {
        await claims.delete(bindingKey(b.id), { previousSeq: cur.revision });
      } catch (e) {
        if (lostRace(e)) continue; // seen or claimed meanwhile: it keeps its binding
        throw e;
      }
      for (const h of holds) {
        if (!h || h.operation !== 'PUT' || dec.decode(h.value) !== b.id) continue;
        await claims.delete(h.key, { previousSeq: h.revision }).catch((e: unknown) => {
          if (!lostRace(e)) throw e; // claimed again meanwhile: stays held
        });
      }
      bindings.delete(b.id);
      bindingRevs.delete(b.id);
      freed.push(shared);
    }
    return freed;
  }

  const status = (): ClusterStatus => {
    const now = o.clock.now();
    const perHub = new Map<string, number>();
    for (const { rec } of entries.values()) perHub.set(rec.home, (perHub.get(rec.home) ?? 0) + 1);
    return {
      hubId: o.hubId,
      connection: closed ? 'closed' : connection,
      hubs: [...hubSeen].filter(([h]) => alive(h)).map(([hubId, seen]) => ({ hubId, members: perHub.get(hubId) ?? 0, lastSeenAgoMs: now - seen })),
      mapMembers: map.size,
      signals: { ...signalCounts },
      watchRestarts,
      presence: { writeFailures: presence.failures, lastWriteAgoMs: Math.max(0, now - presence.lastAckMs) },
      ownMembers: perHub.get(o.hubId) ?? 0,
      viewSound: !closed && viewSound({ connected: connection === 'connected', lastAckMs: presence.lastAckMs, lastFailMs: presence.lastFailMs, lastOwnSeenMs: watchSeen.hubs, refreshMs }, now),
    };
  };

  log.info({ servers: o.servers, hubId: o.hubId, buckets: prefix, presenceTtlMs: ttlMs, members: map.size, bindings: bindings.size }, 'nats: joined the shared network state');
  const state: NetworkState = {
    members,
    map,
    bindings,
    claim,
    services,
    bus: {
      homeOf(id: string): string | undefined {
        // Registered here: ours, although the feed may still name the hub it came from (our own
        // write of its entry is on its way; issue 24, a peer re-homed before its old hub expired).
        if (members.get(id) !== undefined) return undefined;
        const home = entries.get(id)?.rec.home;
        return home !== undefined && home !== o.hubId && alive(home) ? home : undefined;
      },
      send(hubId: string, signal: Uint8Array): boolean {
        if (closed || connection !== 'connected') {
          signalCounts.refused++;
          return false;
        }
        try {
          nc.publish(signalSubject(prefix, hubId), signal);
          signalCounts.sent++;
          return true;
        } catch {
          signalCounts.refused++;
          return false;
        }
      },
      onSignal(fn) {
        onSignal = fn;
      },
      advertise(path: HubPath): void {
        ownPath = hubPathRecord(path);
        refreshPresence().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'nats: presence refresh failed'));
      },
      hubPath(hubId: string): HubPath | undefined {
        return hubId !== o.hubId && alive(hubId) ? paths.get(hubId) : undefined;
      },
      hubByEpoch(epochHex: string): string | undefined {
        const hub = epochs.get(epochHex);
        return hub !== undefined && alive(hub) ? hub : undefined;
      },
    },
    memberChanged(m: Member, gone: boolean): void {
      if (closed) return;
      if (gone) {
        chain(m.id, async () => {
          const rev = ownRev.get(m.id);
          ownRev.delete(m.id);
          if (rev === undefined) return;
          await membersKv.delete(memberKey(m.id), { previousSeq: rev }).catch((e: unknown) => {
            if (!lostRace(e)) throw e; // re-homed meanwhile: the entry is another hub's now
          });
        });
        return;
      }
      const rec = recordOf(m);
      chain(m.id, async () => {
        ownRev.set(m.id, await membersKv.put(memberKey(m.id), json(rec)));
      });
    },
    onMapChanged(fn) {
      mapChanged = fn;
    },
    onRehomed(fn) {
      rehomed = fn;
    },
    release(b: Binding): void {
      bindings.delete(b.id);
      void (async () => {
        await claims.delete(bindingKey(b.id));
        await free(addrKey(b.overlay), b.id);
        if (b.name !== '') await free(nameKey(b.name), b.id);
      })().catch((e: unknown) => log.warn({ peer: b.id.slice(0, 8), err: (e as Error).message }, 'nats: release not written'));
    },
    seen,
    sweepLeases,
    status,
    hubKeys(): Uint8Array[] {
      const others = [...hubKeysSeen].filter(([h]) => alive(h)).map(([, k]) => new Uint8Array(Buffer.from(k, 'base64')));
      return [...(o.hubKey ? [o.hubKey] : []), ...others];
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      o.clock.clearTimer(timer);
      if (retryTimer !== undefined) o.clock.clearTimer(retryTimer);
      for (const wake of [...sleepers]) wake();
      // Own members' entries stay: they leave the other hubs' maps when this hub's presence expires,
      // or stay if it is back within the TTL (a restart) or they re-home.
      await Promise.allSettled([...chains.values()]);
      for (const w of Object.values(watches)) w.stop();
      serviceWatch.stop();
      signals.unsubscribe();
      await nc.close();
    },
  };
  // Back from a cut longer than the TTL, the other hubs have deleted this hub's members' entries:
  // write presence and every own member again (a cut shorter than the TTL rewrites the same values).
  reconnected = () => {
    if (closed) return;
    // The other hubs get a fresh TTL to be heard again: a cut of this hub is not their death.
    for (const h of hubSeen.keys()) hubSeen.set(h, o.clock.now());
    refreshPresence().catch(() => undefined);
    for (const m of members.all()) republish(m);
    log.info({ members: members.size }, 'nats: reconnected; own members written again');
  };
  return state;
}
