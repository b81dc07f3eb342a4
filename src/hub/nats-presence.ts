// Presence of the hubs sharing NATS (hub/nats-state.ts): this hub's heartbeat (h.<hubId> in the
// presence bucket, and a heartbeat key in the claims and members buckets for the stall detector),
// what other hubs' presence says (alive, UDP path, static key), and the expiry of members whose home
// hub is unseen past the TTL. Judged on the local clock from the watch's refreshes, and only while
// this hub's own view is sound (hub/presence-grace.ts).
import type { KvEntry } from 'nats';
import type { TimerHandle } from '../util/clock.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import { hubPathOf, hubPathRecord, type HubPathRecord } from './hub-path.js';
import type { HubPath } from './network-state.js';
import { showInMap, type NatsCtx } from './nats-context.js';
import { dec, heartbeatId, hubKey, json, memberKey } from './nats-names.js';
import { hubAlive, viewSound, type PresenceView } from './presence-grace.js';

/** Local policy: a hub unseen this long is dead and its members leave the map (unless they re-home).
 * 15 s: well past a NATS leader election (~2-5 s) and a few missed refreshes, short beside a
 * peer's 70 s heartbeat expiry. */
export const defaultPresenceTtlMs = 15_000;
/** Local tuning: presence refresh, a fifth of the TTL (four refreshes may be lost). */
export const presenceRefreshFraction = 5;
/** Local tuning: a failed presence write is tried again after this, doubling while under a refresh. */
export const presenceRetryMs = 250;
/** Local policy: after a restart, entries of this hub's members that have not registered again
 * within this long are deleted (a peer re-registers within one 20 s heartbeat plus its timeout). */
export const readoptGraceMs = 60_000;
/** Local tuning: this hub's own presence unheard for this many refreshes means the feed is behind. */
export const feedBehindRefreshes = 3;

/** Whether the presence feed is current enough to judge other hubs dead by their silence (pure):
 * this hub heard its own presence (written every refresh) within feedBehindRefreshes refreshes. */
export function feedCurrent(nowMs: number, ownBeatHeardMs: number, refreshMs: number): boolean {
  return nowMs - ownBeatHeardMs <= feedBehindRefreshes * refreshMs;
}

export class NatsPresence {
  /** When each other hub's presence was last heard (local clock). */
  readonly hubSeen = new Map<string, number>();
  /** Other hubs' static keys from their presence (base64), for HUB_LIST. */
  readonly hubKeysSeen = new Map<string, string>();
  /** Other hubs' --acl digests from their presence (hub/acl-digest.ts). */
  readonly aclDigests = new Map<string, string>();
  /** Other hubs' UDP paths (hub/hub-channel.ts), and who holds which epoch. */
  readonly paths = new Map<string, HubPath>();
  readonly epochs = new Map<string, string>();
  /** Presence writes (presence-grace.ts): the last acknowledged, the last failed, failures in all. */
  readonly writes: { lastAckMs: number; lastFailMs: number; failures: number };
  /** From when other hubs are judged (moved to now whenever this hub's own view is unsound). */
  private graceFromMs: number;
  private beat = 0;
  private ownPath: HubPathRecord | undefined;
  private retryTimer: TimerHandle | undefined;
  /** This hub's --acl digest as its presence publishes it (hub/cluster-acl.ts). */
  aclDigest: string | undefined;

  constructor(private readonly c: NatsCtx) {
    this.writes = { lastAckMs: c.startedMs, lastFailMs: -Infinity, failures: 0 };
    this.graceFromMs = c.startedMs;
    this.aclDigest = c.o.aclDigest;
  }

  // Our own presence heard back through the feed: its watch, or the read by sequence of a stalled
  // watch (nats-feed.ts catchUp), which delivers the other hubs' presence as well. Not the watch's
  // own time: while a stalled presence watch is being made again (a try may hang 10 s while
  // JetStream places the consumer on a dead node) the view is sound through catchUp, and a dead
  // hub's members leave in bounded time (before: 16 s of 18 in the cut test, tries hanging).
  private view(): PresenceView {
    const c = this.c;
    return { connected: c.connection === 'connected', lastAckMs: this.writes.lastAckMs, lastFailMs: this.writes.lastFailMs, lastOwnSeenMs: c.ownBeatHeardMs, refreshMs: c.refreshMs };
  }

  /** Whether this hub's own view of presence is sound now (presence-grace.ts). */
  sound(nowMs: number): boolean {
    return viewSound(this.view(), nowMs);
  }

  alive(hub: string): boolean {
    if (hub === this.c.o.hubId) return true;
    const now = this.c.o.clock.now();
    if (!viewSound(this.view(), now)) this.graceFromMs = now;
    return hubAlive(now, this.hubSeen.get(hub) ?? this.c.startedMs, this.graceFromMs, this.c.ttlMs);
  }

  /** Publishes this hub's UDP path with its presence from the next write on. */
  advertise(path: HubPath): void {
    this.ownPath = hubPathRecord(path);
  }

  private learnPath(hub: string, value: Uint8Array): void {
    let path: HubPath | undefined;
    try {
      path = hubPathOf((JSON.parse(dec.decode(value)) as { path?: unknown }).path);
    } catch {
      path = undefined;
    }
    const old = this.paths.get(hub);
    if (old) this.epochs.delete(Buffer.from(old.epoch).toString('hex'));
    if (!path) {
      this.paths.delete(hub);
      return;
    }
    this.paths.set(hub, path);
    this.epochs.set(Buffer.from(path.epoch).toString('hex'), hub);
  }

  /** A change of the presence bucket (its watch, or read by sequence). */
  onHub(e: KvEntry): void {
    const c = this.c;
    if (!e.key.startsWith('h.')) return; // the lease sweep's key (read by sequence in catchUp)
    const hub = e.key.slice(2);
    if (hub === c.o.hubId) c.watchSeen.hubs = c.ownBeatHeardMs = c.o.clock.now();
    if (e.operation !== 'PUT' || hub === c.o.hubId) return;
    this.learnPath(hub, e.value);
    const wasAlive = this.alive(hub);
    this.hubSeen.set(hub, c.o.clock.now());
    try {
      const v = JSON.parse(dec.decode(e.value)) as { key?: unknown; acl?: unknown };
      if (typeof v.key === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(v.key)) this.hubKeysSeen.set(hub, v.key);
      if (typeof v.acl === 'string' && /^[0-9a-f-]{1,64}$/.test(v.acl)) this.aclDigests.set(hub, v.acl);
      else this.aclDigests.delete(hub);
    } catch {
      // an older hub's presence, or unreadable: no key to vouch for
    }
    // A hub back from the dead: its members' entries still in the bucket return to the map. And on
    // any presence of a live hub, those of its members' entries that are not in the map return too:
    // an entry that arrived while its hub was unseen (a watch remade after a NATS node was lost
    // delivers members before their hub's presence) was left out, and `alive` may hold again through
    // the grace of an unsound view (presence-grace.ts) without this hub ever being judged back.
    let changed = false;
    for (const [id, { rec }] of c.entries) if (rec.home === hub && (!wasAlive || c.map.get(id) === undefined)) changed = showInMap(c, id, rec) || changed;
    if (changed) c.mapChanged();
  }

  /** Writes this hub's presence and its heartbeat keys. */
  async refresh(): Promise<void> {
    const c = this.c;
    const sentMs = c.o.clock.now();
    const value = json({
      members: c.members.size, beat: ++this.beat, ...(this.ownPath ? { path: this.ownPath } : {}),
      ...(c.o.hubKey ? { key: Buffer.from(c.o.hubKey).toString('base64') } : {}),
      ...(this.aclDigest !== undefined ? { acl: this.aclDigest } : {}),
    });
    try {
      await Promise.all([c.hubsKv.put(hubKey(c.o.hubId), value), c.claims.put(`key.${heartbeatId(c.o.hubId)}`, value), c.membersKv.put(`m.${heartbeatId(c.o.hubId)}`, value)]);
    } catch (e) {
      this.writes.failures++;
      this.writes.lastFailMs = Math.max(this.writes.lastFailMs, c.o.clock.now());
      throw e;
    }
    c.lastAckedWriteMs = Math.max(c.lastAckedWriteMs, sentMs);
    this.writes.lastAckMs = Math.max(this.writes.lastAckMs, c.o.clock.now());
  }

  /** A failed refresh is tried again soon (doubling from presenceRetryMs, within a refresh), so the
   * other hubs hear this one as soon as JetStream answers again, not a refresh later. */
  refreshWithRetry(waitMs = presenceRetryMs): void {
    const c = this.c;
    if (this.retryTimer !== undefined) c.o.clock.clearTimer(this.retryTimer);
    this.retryTimer = undefined;
    this.refresh().catch((e: unknown) => {
      if (waitMs === presenceRetryMs) c.log.warn({ err: (e as Error).message, failures: this.writes.failures }, 'nats: presence refresh failed; trying again');
      if (c.closed || waitMs >= c.refreshMs) return;
      this.retryTimer = c.o.clock.setTimer(waitMs, () => {
        this.retryTimer = undefined;
        if (!c.closed) this.refreshWithRetry(waitMs * 2);
      });
    });
  }

  /** Members whose home hub is unseen past the TTL (or of this hub before a restart and not back)
   * leave the map and the bucket. Called each refresh while the feed is current. */
  expire(): void {
    const c = this.c;
    let changed = false;
    const now = c.o.clock.now();
    for (const [id, { rec, rev }] of c.entries) {
      // Left by this hub before a restart (same hub id) and not registered again: gone.
      const orphan = rec.home === c.o.hubId && c.members.get(id) === undefined && !c.chains.has(id) && now - c.startedMs > Math.max(readoptGraceMs, c.ttlMs);
      if (this.alive(rec.home) && !orphan) continue;
      if (c.map.remove(id)) {
        changed = true;
        c.log.info({ peer: id.slice(0, 8), overlay: u32ToIpv4(rec.overlay), home: rec.home }, 'nats: member leaves the map (its home hub unseen past the presence TTL, or not back since this hub restarted)');
      }
      // Any hub may delete it; the revision check keeps a member that re-homed meanwhile.
      c.membersKv.delete(memberKey(id), { previousSeq: rev }).catch(() => undefined);
    }
    if (changed) c.mapChanged();
  }

  /** Back from a cut: the other hubs get a fresh TTL to be heard again (a cut of this hub is not their death). */
  forgive(): void {
    for (const h of this.hubSeen.keys()) this.hubSeen.set(h, this.c.o.clock.now());
  }

  stop(): void {
    if (this.retryTimer !== undefined) this.c.o.clock.clearTimer(this.retryTimer);
  }
}
