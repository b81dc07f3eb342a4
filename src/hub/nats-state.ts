// The network state shared by several hubs through NATS JetStream (`meshd hub --cluster`): the
// NetworkState of hub/network-state.ts over three KV buckets (layout in hub/nats-names.ts). This file
// connects, opens the buckets and composes the parts, one concept each:
//   nats-presence.ts  this hub's heartbeat, other hubs' presence, expiry of dead hubs' members
//   nats-feed.ts      the watches (the change feed every hub's served map follows), stall recovery
//   nats-members.ts   own members' entries written, every hub's entries into the served map
//   nats-claims.ts    address and name claims by compare-and-set, the bindings mirror
//   nats-leases.ts    shared last-seen times and the one-hub-at-a-time lease sweep
// Buckets are named from a hash of the network secret and CIDR, so hubs given the same NATS and
// secret share one network and other networks never meet. Hub-to-hub signals (PUNCH for members
// homed elsewhere, hub/cluster-signal.ts) go on the NATS core subject <p>.hub.<hubId>, at most once,
// never stored; relayed data goes hub to hub over UDP (hub/hub-channel.ts), never through NATS.
// Only hub/nats-*.ts import the NATS client, and only hub/run.ts loads this file (test/deps.test.ts).
import { connect } from 'nats';
import { BindingTable, dayMs, defaultBindingLeaseDays } from './bindings.js';
import { AclAgreement, aclMismatches } from './cluster-acl.js';
import { NatsClaims } from './nats-claims.js';
import type { NatsCtx, NatsStateOptions } from './nats-context.js';
import { authenticatorFrom, clusterError, natsPingIntervalMs, natsMaxPingOut, openBucket } from './nats-conn.js';
import { NatsFeed } from './nats-feed.js';
import { NatsLeases } from './nats-leases.js';
import { NatsMembers } from './nats-members.js';
import { bucketPrefix, signalSubject } from './nats-names.js';
import { defaultPresenceTtlMs, feedCurrent, NatsPresence, presenceRefreshFraction } from './nats-presence.js';
import type { ClusterStatus, HubPath, NetworkState } from './network-state.js';
import { Registry } from './registry.js';
import { KvServiceClaims } from './service-claims.js';
import type { TimerHandle } from '../util/clock.js';

export type { NatsStateOptions } from './nats-context.js';
export { ClusterError, authenticatorFrom, kvTimeoutMs, natsMaxPingOut, natsPingIntervalMs } from './nats-conn.js';
export { addrKey, bucketPrefix, nameKey, natOfRecord, natRecordOf, signalSubject, sweepKey } from './nats-names.js';
export { defaultPresenceTtlMs, feedBehindRefreshes, feedCurrent, presenceRefreshFraction, presenceRetryMs, readoptGraceMs } from './nats-presence.js';
export { catchUpBatch, startWatchAttempts, watchStallRefreshes, watchStalled } from './nats-feed.js';
export { memberWriteRetries, memberWriteRetryMs } from './nats-members.js';

/** Local tuning: replicas of each bucket (a 3-node NATS loses one node and changes nothing visible). */
export const defaultReplicas = 3;

/** One presence refresh (every refreshMs): write ours, recover stalled watches, expire the members
 * of hubs unseen past the TTL. False when cut from NATS (nothing judged). Exported for tests that
 * drive it on a ManualClock with fake buckets (test/hub/nats-presence-feed.test.ts). */
export function presenceTick(ctx: NatsCtx, presence: NatsPresence, feed: NatsFeed): boolean {
  presence.refreshWithRetry();
  // Cut from NATS, this hub hears no hub: it keeps its last view rather than expire them all.
  if (ctx.connection !== 'connected') return false;
  feed.check();
  // Our own presence not heard back either: the feed is behind (a stalled watch, a silent cut not
  // yet noticed, writes failing cluster-wide), so the other hubs' silence proves nothing.
  if (feedCurrent(ctx.o.clock.now(), ctx.ownBeatHeardMs, ctx.refreshMs)) presence.expire();
  return true;
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
  // Set once the context exists; a status event before that only moves the connection state.
  const conn = { connection: 'connected', reconnected: () => undefined as void };
  let c: NatsCtx | undefined;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') conn.connection = 'reconnecting';
      else if (s.type === 'reconnect') conn.connection = 'connected';
      if (c) c.connection = conn.connection;
      if (s.type === 'reconnect') conn.reconnected();
      if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ event: s.type, server: s.data }, `nats: ${s.type}`);
    }
  })();
  const prefix = bucketPrefix(o.psk, o.network.cidr);
  const replicas = o.replicas ?? defaultReplicas;
  let claimsKv, membersKv, hubsKv;
  try {
    claimsKv = await openBucket(nc, `${prefix}_claims`, { replicas }, log);
    membersKv = await openBucket(nc, `${prefix}_members`, { replicas }, log);
    hubsKv = await openBucket(nc, `${prefix}_hubs`, { replicas, ttl: ttlMs }, log);
  } catch (e) {
    await nc.close();
    throw clusterError(e, o.servers);
  }

  const startedMs = o.clock.now();
  const ctx: NatsCtx = {
    o, log, nc, prefix, claims: claimsKv, membersKv, hubsKv, ttlMs, refreshMs,
    leaseMs: o.bindingLeaseMs ?? defaultBindingLeaseDays * dayMs,
    startedMs,
    members: new Registry(o.network),
    map: new Registry(o.network),
    bindings: new BindingTable(o.pinned ?? []),
    connection: conn.connection,
    closed: false,
    entries: new Map(),
    ownRev: new Map(),
    chains: new Map(),
    bindingRevs: new Map(),
    watchSeen: { hubs: startedMs, claims: startedMs, members: startedMs },
    ownBeatHeardMs: startedMs,
    lastAckedWriteMs: startedMs,
    mapChanged: () => undefined,
    rehomed: () => undefined,
  };
  c = ctx;
  const { members, map, bindings } = ctx;
  const presence = new NatsPresence(ctx);
  const memberFeed = new NatsMembers(ctx, presence);
  const claims = new NatsClaims(ctx);
  const leases = new NatsLeases(ctx, claims);
  const alive = (hub: string) => presence.alive(hub);

  await claims.pin(o.pinned ?? []);
  await presence.refresh();
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
  // Published ports network-wide (hub/service-claims.ts): every hub follows them.
  let services: KvServiceClaims | undefined;
  const feed = new NatsFeed(ctx, {
    hubs: (e) => presence.onHub(e),
    claims: (e) => claims.onClaim(e),
    members: (e) => memberFeed.onMember(e),
    services: (e) => services?.apply(e),
  });
  await feed.start();
  services = new KvServiceClaims(claimsKv, () => ctx.connection === 'connected' && !ctx.closed, log);
  await feed.startServices();

  // The live other hubs whose --acl differs from ours (hub/cluster-acl.ts), logged once per change.
  const aclAgreement = new AclAgreement(log);
  const aclMismatched = () => aclMismatches(presence.aclDigest, [...presence.hubSeen.keys()].filter((h) => alive(h)).map((h) => [h, presence.aclDigests.get(h)] as const));

  // Presence: refresh ours; members of hubs unseen for the TTL leave the map and the bucket.
  let timer: TimerHandle = o.clock.setTimer(refreshMs, function tick() {
    if (ctx.closed) return;
    if (presenceTick(ctx, presence, feed)) aclAgreement.note(presence.aclDigest, aclMismatched());
    timer = o.clock.setTimer(refreshMs, tick);
  });

  const status = (): ClusterStatus => {
    const now = o.clock.now();
    const perHub = new Map<string, number>();
    for (const { rec } of ctx.entries.values()) perHub.set(rec.home, (perHub.get(rec.home) ?? 0) + 1);
    return {
      hubId: o.hubId,
      connection: ctx.closed ? 'closed' : ctx.connection,
      hubs: [...presence.hubSeen].filter(([h]) => alive(h)).map(([hubId, seen]) => ({ hubId, members: perHub.get(hubId) ?? 0, lastSeenAgoMs: now - seen })),
      mapMembers: map.size,
      signals: { ...signalCounts },
      watchRestarts: feed.watchRestarts,
      presence: { writeFailures: presence.writes.failures, lastWriteAgoMs: Math.max(0, now - presence.writes.lastAckMs) },
      ownMembers: perHub.get(o.hubId) ?? 0,
      viewSound: !ctx.closed && presence.sound(now),
      acl: { digest: presence.aclDigest ?? null, mismatched: aclMismatched() },
    };
  };

  log.info({ servers: o.servers, hubId: o.hubId, buckets: prefix, presenceTtlMs: ttlMs, members: map.size, bindings: bindings.size }, 'nats: joined the shared network state');
  const state: NetworkState = {
    members,
    map,
    bindings,
    claim: (b, old) => claims.claim(b, old),
    services,
    bus: {
      homeOf(id: string): string | undefined {
        // Registered here: ours, although the feed may still name the hub it came from (our own
        // write of its entry is on its way; issue 24, a peer re-homed before its old hub expired).
        if (members.get(id) !== undefined) return undefined;
        const home = ctx.entries.get(id)?.rec.home;
        return home !== undefined && home !== o.hubId && alive(home) ? home : undefined;
      },
      send(hubId: string, signal: Uint8Array): boolean {
        if (ctx.closed || ctx.connection !== 'connected') {
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
        presence.advertise(path);
        presence.refresh().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'nats: presence refresh failed'));
      },
      hubPath(hubId: string): HubPath | undefined {
        return hubId !== o.hubId && alive(hubId) ? presence.paths.get(hubId) : undefined;
      },
      hubByEpoch(epochHex: string): string | undefined {
        const hub = presence.epochs.get(epochHex);
        return hub !== undefined && alive(hub) ? hub : undefined;
      },
    },
    memberChanged: (m, gone) => memberFeed.changed(m, gone),
    onMapChanged(fn) {
      ctx.mapChanged = fn;
    },
    onRehomed(fn) {
      ctx.rehomed = fn;
    },
    release: (b) => claims.release(b),
    seen: (id, nowWallMs) => leases.seen(id, nowWallMs),
    sweepLeases: (nowWallMs) => leases.sweep(nowWallMs),
    status,
    hubKeys(): Uint8Array[] {
      const others = [...presence.hubKeysSeen].filter(([h]) => alive(h)).map(([, k]) => new Uint8Array(Buffer.from(k, 'base64')));
      return [...(o.hubKey ? [o.hubKey] : []), ...others];
    },
    setAclDigest(digest: string | undefined): void {
      if (digest === presence.aclDigest) return;
      presence.aclDigest = digest;
      presence.refresh().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'nats: presence refresh failed'));
    },
    async close(): Promise<void> {
      if (ctx.closed) return;
      ctx.closed = true;
      o.clock.clearTimer(timer);
      presence.stop();
      memberFeed.wake();
      // Own members' entries stay: they leave the other hubs' maps when this hub's presence expires,
      // or stay if it is back within the TTL (a restart) or they re-home.
      await Promise.allSettled([...ctx.chains.values()]);
      feed.stop();
      signals.unsubscribe();
      await nc.close();
    },
  };
  // Back from a cut longer than the TTL, the other hubs have deleted this hub's members' entries:
  // write presence and every own member again (a cut shorter than the TTL rewrites the same values).
  conn.reconnected = () => {
    if (ctx.closed) return;
    presence.forgive();
    presence.refresh().catch(() => undefined);
    for (const m of members.all()) memberFeed.republish(m);
    log.info({ members: members.size }, 'nats: reconnected; own members written again');
  };
  return state;
}
