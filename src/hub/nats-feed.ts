// The change feed of the NATS shared state (hub/nats-state.ts): one watch per bucket applies every
// change once (a watch and a read by sequence may both deliver it); a watch that stops delivering
// this hub's own heartbeat while writes are acknowledged is stalled: its bucket is read by sequence
// with JetStream direct gets every refresh, and the watch is made again (bounded, given up and
// retried when it hangs on a NATS node still down).
import type { KV, KvEntry, QueuedIterator } from 'nats';
import type { NatsCtx } from './nats-context.js';
import { clusterError, kvTimeoutMs } from './nats-conn.js';
import { json } from './nats-names.js';
import { serviceKeyPrefix } from './service-claims.js';

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

type Which = 'hubs' | 'claims' | 'members';
type Apply = (e: KvEntry) => void;

/** What each bucket's changes are given to. */
export interface FeedHandlers {
  hubs: Apply;
  claims: Apply;
  members: Apply;
  /** Published ports (`svc.` in the claims bucket, hub/service-claims.ts). */
  services: Apply;
}

export class NatsFeed {
  watchRestarts = 0;
  /** The highest revision applied per bucket, and per key (a watch and catchUp may both deliver a
   * change; an older revision of a key than the one applied is not applied again). */
  private readonly lastRev = { hubs: 0, claims: 0, members: 0 };
  private readonly keyRev = { hubs: new Map<string, number>(), claims: new Map<string, number>(), members: new Map<string, number>() };
  /** Watches judged stalled that have not delivered this hub's heartbeat since: read by sequence
   * every refresh (catchUp). */
  private readonly lagging = new Set<Which>();
  private readonly catchingUp = new Set<Which>();
  private watches!: Record<Which, QueuedIterator<KvEntry>>;
  private serviceWatch: QueuedIterator<KvEntry> | undefined;
  private restarting = false;
  private restartGen = 0;

  constructor(private readonly c: NatsCtx, private readonly h: FeedHandlers) {}

  private applyOnce(which: Which, e: KvEntry, apply: Apply): void {
    if (e.revision < (this.keyRev[which].get(e.key) ?? 0)) return;
    this.keyRev[which].set(e.key, e.revision);
    this.lastRev[which] = Math.max(this.lastRev[which], e.revision);
    try {
      apply(e);
    } catch (err) {
      this.c.log.error({ err, key: e.key }, 'nats: applying a change failed');
    }
  }

  /** Follows a bucket from its current values on; resolves once those are applied. */
  private async follow(kv: KV, key: string, apply: Apply, which: Which): Promise<QueuedIterator<KvEntry>> {
    let ready!: () => void;
    const initialized = new Promise<void>((r) => (ready = r));
    const w = await kv.watch({ key, initializedFn: () => ready() });
    const watchSeen = this.c.watchSeen;
    void (async () => {
      for await (const e of w) {
        const seen = watchSeen[which];
        this.applyOnce(which, e, apply);
        if (watchSeen[which] !== seen) this.lagging.delete(which); // its own heartbeat: delivering again
      }
    })();
    await initialized;
    return w;
  }

  // At start a watch's consumer may be placed on a NATS node that is down (its creation times out,
  // as remaking one does): tried again, bounded, rather than the hub exiting while NATS works.
  private async followAtStart(kv: KV, key: string, apply: Apply, which: Which): Promise<QueuedIterator<KvEntry>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.follow(kv, key, apply, which);
      } catch (e) {
        if (attempt >= startWatchAttempts || this.c.closed) throw clusterError(e, this.c.o.servers);
        this.c.log.warn({ watch: which, attempt, err: (e as Error).message }, 'nats: making a watch failed at start (a NATS node down?); trying again');
      }
    }
  }

  /** Makes the watches of presence, bindings and members (in that order), resolving once each
   * bucket's current values are applied. */
  async start(): Promise<void> {
    const c = this.c;
    this.watches = {
      hubs: await this.followAtStart(c.hubsKv, 'h.>', this.h.hubs, 'hubs'),
      claims: await this.followAtStart(c.claims, 'key.>', this.h.claims, 'claims'),
      members: await this.followAtStart(c.membersKv, 'm.>', this.h.members, 'members'),
    };
  }

  /** Follows the published ports (every hub does), once the service claims exist. */
  async startServices(): Promise<void> {
    this.serviceWatch = await this.followAtStart(this.c.claims, `${serviceKeyPrefix}>`, this.h.services, 'claims');
  }

  // While a watch is stalled (its consumer on a lost node: remaking it timed out for 20-40 s in the
  // e2e test), its bucket's changes are read by sequence with direct gets, which any live replica
  // answers without a consumer: a member added, a hub's presence, a claim arrive within a refresh.
  private async catchUp(which: Which): Promise<void> {
    const c = this.c;
    if (this.catchingUp.has(which) || c.closed) return;
    this.catchingUp.add(which);
    const bucket = `${c.prefix}_${which}`;
    // The claims bucket holds published ports too (`svc.`): read by sequence, each goes to its owner.
    const apply: Apply = which === 'claims' ? (e) => (e.key.startsWith(serviceKeyPrefix) ? this.h.services(e) : this.h.claims(e)) : this.h[which];
    const subjectPrefix = `$KV.${bucket}.`;
    let read = 0;
    try {
      for (; read < catchUpBatch && !c.closed; read++) {
        // JetStream's direct get (allow_direct, the default of buckets made on nats-server >= 2.9).
        const m = await c.nc.request(`$JS.API.DIRECT.GET.KV_${bucket}`, json({ seq: this.lastRev[which] + 1, next_by_subj: `${subjectPrefix}>` }), { timeout: kvTimeoutMs }).catch(() => undefined);
        const seq = Number(m?.headers?.get('Nats-Sequence'));
        const subject = m?.headers?.get('Nats-Subject') ?? '';
        // Nothing newer (404), no answer, or not a message of this bucket: the next refresh tries again.
        if (m === undefined || !Number.isSafeInteger(seq) || seq <= this.lastRev[which] || !subject.startsWith(subjectPrefix)) break;
        const op = m.headers?.get('KV-Operation');
        const e = { key: subject.slice(subjectPrefix.length), value: m.data, revision: seq, operation: op === 'DEL' || op === 'PURGE' ? op : 'PUT' } as KvEntry;
        // Not the watch's own delivery: the stall detector keeps judging the watch itself.
        const seen = c.watchSeen[which];
        this.applyOnce(which, e, apply);
        c.watchSeen[which] = seen;
      }
    } finally {
      this.catchingUp.delete(which);
    }
    if (read > 0) c.log.info({ watch: which, read, upTo: this.lastRev[which] }, 'nats: read changes by sequence while a watch is stalled');
  }

  /** Makes a stalled watch again: what was deleted while it was silent is dropped first (the new
   * watch delivers every current value, so what was added or changed comes back with it). */
  private async restartWatch(which: Which, gen: number): Promise<void> {
    const c = this.c;
    this.watchRestarts++;
    c.watchSeen[which] = c.o.clock.now();
    c.log.warn({ watch: which, restarts: this.watchRestarts }, 'nats: a watch stopped delivering (its consumer was on a lost NATS node?); making it again');
    this.watches[which].stop();
    if (gen !== this.restartGen) return;
    if (which === 'members') {
      const present = new Set<string>();
      for await (const k of await c.membersKv.keys('m.>')) present.add(k.slice(2));
      let changed = false;
      for (const id of [...c.entries.keys()]) {
        if (present.has(id)) continue;
        c.entries.delete(id);
        changed = c.map.remove(id) !== undefined || changed;
      }
      if (changed) c.mapChanged();
      this.adopt('members', await this.follow(c.membersKv, 'm.>', this.h.members, 'members'), gen);
    } else if (which === 'claims') {
      const present = new Set<string>();
      for await (const k of await c.claims.keys('key.>')) present.add(k.slice(4));
      for (const b of c.bindings.all()) if (!b.pinned && !present.has(b.id)) c.bindings.delete(b.id);
      this.adopt('claims', await this.follow(c.claims, 'key.>', this.h.claims, 'claims'), gen);
    } else {
      this.adopt('hubs', await this.follow(c.hubsKv, 'h.>', this.h.hubs, 'hubs'), gen);
    }
  }

  /** A remade watch takes its place unless its restart was given up meanwhile (then it is stopped). */
  private adopt(which: Which, w: QueuedIterator<KvEntry>, gen: number): void {
    if (gen !== this.restartGen || this.c.closed) w.stop();
    else this.watches[which] = w;
  }

  /** Each refresh: stalled watches are read by sequence and made again. */
  check(): void {
    const c = this.c;
    if (c.closed) return;
    const stallMs = watchStallRefreshes * c.refreshMs;
    const stalled = (Object.keys(this.watches) as Which[]).filter((w) => watchStalled(c.o.clock.now(), c.watchSeen[w], c.lastAckedWriteMs, stallMs));
    for (const w of stalled) this.lagging.add(w);
    for (const w of this.lagging) void this.catchUp(w);
    if (stalled.length === 0 || this.restarting) return;
    this.restarting = true;
    const gen = ++this.restartGen;
    // A remake that hangs (its new consumer on a node still down) is given up and tried again.
    const guard = c.o.clock.setTimer(2 * kvTimeoutMs, () => {
      if (gen !== this.restartGen) return;
      this.restartGen++;
      this.restarting = false;
      c.log.warn({ watches: stalled }, 'nats: making a watch again did not finish; tried again next refresh');
    });
    void (async () => {
      for (const w of stalled) await this.restartWatch(w, gen);
    })()
      .catch((e: unknown) => c.log.warn({ err: (e as Error).message }, 'nats: making a watch again failed; tried again next refresh'))
      .finally(() => {
        if (gen !== this.restartGen) return;
        c.o.clock.clearTimer(guard);
        this.restarting = false;
      });
  }

  stop(): void {
    for (const w of Object.values(this.watches ?? {})) w.stop();
    this.serviceWatch?.stop();
  }
}
