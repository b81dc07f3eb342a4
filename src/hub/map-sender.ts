// Distributes the versioned peer map to members reliably: a full map on registration (and when a
// member's version is too old for a delta), coalesced deltas after changes, split into
// datagram-sized parts, each part retransmitted until acked. Used by hub/server.ts.
//
// 10,000 members (RELIABILITY.md "Hub load"): every member must receive every other member's entry,
// so a join storm is ~N^2 entries whatever the order; what matters is that this bulk never starves
// REGISTER and HEARTBEAT. So: entries are encoded once per change and parts once per version (a
// full map is cut from a snapshot shared by the members joining within `mapSnapshotMaxAgeMs`, then
// a delta brings each up to date); parts are sent only by a pump that runs in slices of
// `mapPumpSliceMs` and yields to the socket between them, deltas before full maps, with at most
// `mapInflightParts` unacked over all members so the ACKs coming back cannot fill the hub's
// receive queue and push out heartbeats; at most `mapFullConcurrent` full maps stream at once, the
// other joiners starting in arrival order.
//
// Load shape (docs/RELIABILITY.md "Hub load"): changes are not sent one delta per member per
// change (a join storm was O(N^2) datagrams) but collected for `mapCoalesceMs` (doubling up to
// `mapCoalesceMaxMs` while changes keep coming) and flushed as one
// delta per member covering everything since its acked version; a member with a map still in
// flight gets the rest when that one is acked. Each member has at most `mapWindowParts` parts
// unacked and one retransmit timer whose delay doubles while nothing is acked (never below twice
// the measured part->ACK round trip), so an overloaded hub (or peer) is not answered with more
// traffic. Fairness (issue 17): a member whose retransmit timer fires without any ACK is taken as
// not answering: its parts leave the hub-wide in-flight count (deemed lost, as TCP counts them),
// it gives up its full-map slot to the next joiner, and until it ACKs again it has one part in
// flight and each retransmission re-sends only its oldest part. So members that never ACK delay
// only themselves. (Past 400 lines on purpose: coalescing, the pump and retransmission all drive the one
// per-member state below; the pure decisions are the exported functions, tested with tables.)
import type { ReliableSender } from '../link/reliable.js';
import { deferOn, type Clock, type TimerHandle } from '../util/clock.js';
import { Fanout, type FanoutReport, type PumpTotals } from './fanout.js';
import type { AclPolicyFile } from './acl-policy.js';
import { buildParts, withSeq, type MapPart } from './map-parts.js';
import { ScopeViews, type RoutesOf, type ScopeResets } from './map-scope-views.js';
import type { Member, Registry } from './registry.js';

/** Local tuning: MAP body budget so a part plus inner, TRANSPORT and IP/UDP headers fits 1280 bytes. */
export const mapPartBudgetBytes = 1100;
/** Local tuning: changes within this window reach each member as one delta (well inside the 1 s goal). */
export const mapCoalesceMs = 50;
/** Local tuning: during a storm (a change within `mapQuietMs` of the last flush) the window doubles up
 * to this, or `mapStormMsPerMember` times the members when that is longer, so storm deltas cost the
 * hub at most ~4,000 sends and ACKs a second (~75 us a pair measured) however many join. */
export const mapCoalesceMaxMs = 500;
export const mapStormMsPerMember = 0.25;
export const mapQuietMs = 1_000;
/** Local tuning: after a flush that took d ms, the next waits >= this many times d, so map fan-out
 * takes at most about a third of the hub's CPU however fast members join. */
export const mapFlushSpacingFactor = 2;
/** Local tuning: MAP parts unacked per member at once (a full map of 10,000 members is ~550 parts;
 * all at once overflow a peer's socket buffer and then all of them are retransmitted). */
export const mapWindowParts = 16;
/** Local tuning: first retransmit of a member's unacked parts; doubles per timeout, halves on an ACK. */
export const mapFirstRetryMs = 500;
export const mapMaxRetryMs = 8_000;
/** Local tuning: timeouts without any ACK before giving up (~15 s); the next HEARTBEAT repairs. */
export const mapMaxSendsWithoutProgress = 6;
/** Local tuning: MAP parts unacked over all members: bounds the ACKs in the hub's receive queue
 * (~1 KB of buffer each) far below its 8 MB, and still keeps ~2 MB of map on the wire. */
export const mapInflightParts = 2048;
/** Local tuning: full maps streamed at once; the other joiners wait in order of arrival. Round
 * robin over all 9,000 joiners of a storm finished none of them until nearly all were done. */
export const mapFullConcurrent = 256;
/** Local tuning: the pump sends for at most this long, then lets the event loop read the socket. */
export const mapPumpSliceMs = 4;
/** Local tuning: a full map is cut from a snapshot at most this old (then a delta follows), so a
 * join storm encodes one full map per interval instead of one per joiner. */
export const mapSnapshotMaxAgeMs = 1_000;

/** Coalescing window for a change (pure): the base window after a quiet spell, doubling while
 * changes keep coming, capped. */
export function nextWindowMs(windowMs: number, sinceLastFlushMs: number, members: number, baseMs = mapCoalesceMs): number {
  const cap = Math.max(mapCoalesceMaxMs, members * mapStormMsPerMember, baseMs);
  return sinceLastFlushMs > mapQuietMs ? baseMs : Math.min(Math.max(windowMs, baseMs) * 2, cap);
}

/** Local tuning: a retransmit timer that fires this late means the hub's own event loop is behind
 * (the ACKs are likely waiting in its socket): it is put off once instead of resending. */
export const mapLateTimerMs = 100;

/** Local tuning: a MAP ACK from any member within this long says the members are answering, only
 * slowly (a fan-out to 10,000 queues thousands of parts in the receivers while they work through
 * them): an unacked part is then waiting in a queue, not lost. */
export const mapAckFlowMs = 50;
/** Local tuning: however busy, a part unacked this long is resent (a real loss inside a long fan-out). */
export const mapBusyHoldMs = 4_000;
/** Local tuning: how soon a held retransmission looks again. */
export const mapHoldRecheckMs = 100;

/** Whether a member's due retransmission waits (pure): while ACKs from other members keep arriving,
 * its part is most likely queued behind theirs in a busy receiver, and resending it would double
 * that receiver's work (measured: a fan-out to 4,000 members resent 1,662 parts, its ACK round trip
 * grew to 3.6 s and the change took 11 s instead of 1). Bounded by `mapBusyHoldMs` since the part
 * was last sent. */
export function holdRetransmit(nowMs: number, lastAckMs: number, sentMs: number): boolean {
  return nowMs - lastAckMs <= mapAckFlowMs && nowMs - sentMs < mapBusyHoldMs;
}

/** Smoothed ACK round trip after a sample (pure; RFC 6298's 1/8 gain). */
export function nextSrttMs(srttMs: number | undefined, sampleMs: number): number {
  return srttMs === undefined ? sampleMs : srttMs + (sampleMs - srttMs) / 8;
}

/** Floor of the retransmit delay (pure): twice the smoothed round trip, within the first and the
 * largest retry. A busy peer or hub answers in seconds; a fixed 500 ms then resent everything. */
export function retryFloorMs(srttMs: number | undefined): number {
  return srttMs === undefined ? mapFirstRetryMs : Math.min(Math.max(2 * srttMs, mapFirstRetryMs), mapMaxRetryMs);
}

/** Retransmit delay after a timeout or an ACK (pure): doubles while nothing is acked, halves back. */
export function nextRetryMs(currentMs: number, event: 'timeout' | 'ack'): number {
  return event === 'timeout' ? Math.min(currentMs * 2, mapMaxRetryMs) : Math.max(mapFirstRetryMs, currentMs / 2);
}

/** When the earliest of a map's unacked parts was last sent. */
function oldestSentMs(out: Outgoing): number {
  let t = Infinity;
  for (const u of out.unacked.values()) if (u.sentMs < t) t = u.sentMs;
  return t;
}

/** One version on its way to a member. */
interface Outgoing {
  version: number;
  base: number;
  /** The flush that queued it, when one did. */
  fanout?: Fanout;
  parts: readonly MapPart[];
  /** Index of the next part not yet sent. */
  next: number;
  /** Parts sent and not acked: seq -> part index, and when it was last sent. An ACK of a resent
   * part is timed from the last send: never more than the true round trip, so the estimate cannot
   * feed on its own retransmissions (and without samples from resent parts a round trip longer
   * than the first retry would never be learnt: every part would be resent before its ACK). */
  unacked: Map<number, { part: number; sentMs: number }>;
  /** Parts not yet acked (sent or not). */
  left: number;
}

interface MemberMapState {
  member: Member;
  /** Highest version the member confirmed (ACK of every part, or its HEARTBEAT). */
  acked: number;
  out: Outgoing | undefined;
  /** Seqs come from the member's reliable sender (shared with PUNCH so they are unique per member). */
  reliable: ReliableSender;
  timer: TimerHandle | undefined;
  retryMs: number;
  /** When the retransmit timer is due, and whether it was already put off for a late loop. */
  timerDueMs: number;
  putOff: boolean;
  timeouts: number;
  lastProgressMs: number;
  /** Parts of this member counted in the hub-wide in-flight total (not those deemed lost). */
  counted: number;
  /** Timed out without an ACK since: window of one part, no full-map slot, no in-flight share. */
  quiet: boolean;
  /** Has ever ACKed a part. */
  answered: boolean;
  /** Its scoped view changed in a way a delta cannot say (policy reload, a member changing class):
   * the next map it gets is a full one, and this clears only when a full map is acked. */
  needFull: boolean;
  /** The version the member holds as far as the hub knows (its last map acked, or what its HEARTBEAT
   * reported). Scoped maps: a delta with nothing the member sees is not sent, only `acked` moves on,
   * so `delivered` can be below `acked`; the next delta it gets is labelled with this base. */
  delivered: number;
}

/** Local tuning: parts unacked to a member that has never ACKed one (a new member, or one that
 * never will): 200 silent joiners then hold 800 of the 2,048 in flight, not all of them. */
export const mapFirstWindowParts = 4;

/** Parts a member may have unacked (pure): one while it does not answer, a small first window
 * until its first ACK, then the full window. */
export function windowParts(quiet: boolean, answered: boolean): number {
  return quiet ? 1 : answered ? mapWindowParts : mapFirstWindowParts;
}

export interface MapSenderOptions {
  clock: Clock;
  /** The versioned map: its full bytes and the changes since a version. */
  registry: Registry;
  /** Who gets it: this hub's own members (default `registry`'s members: a single hub serves the
   * registry it keeps; hubs sharing state serve the network's map to their own members). */
  recipients?: Pick<Registry, 'all' | 'size'>;
  /** Sends an inner CONTROL message (bytes valid only during the call) to the member. */
  send(m: Member, inner: Uint8Array): void;
  /** The member's reliable sender: MAP part seqs come from it, shared with PUNCH and STREAM_OPEN. */
  reliableOf(m: Member): ReliableSender;
  /** Coalescing window after a quiet spell (default mapCoalesceMs). */
  coalesceMs?: number;
  /** MAP parts unacked over all members (default mapInflightParts). */
  inflightLimit?: number;
  /** Full maps streamed at once (default mapFullConcurrent). */
  fullConcurrent?: number;
  /** Told when a flush's fan-out completes (the hub logs it). */
  onFanout?: (r: FanoutReport) => void;
  /** Prefixes a member routes (scoped maps: a router is selected by the addresses it routes). */
  routesOf?: RoutesOf;
}

export class MapSender {
  readonly counters = { parts: 0, retransmits: 0, giveUps: 0, flushes: 0, snapshots: 0, pumps: 0, putOff: 0, quiet: 0, skipped: 0, held: 0 };
  /** Smoothed round trip of MAP part -> ACK over all members (the hub's and the peers' load show in it). */
  srttMs: number | undefined;
  /** When a MAP part was last acked by any member (holdRetransmit). */
  private lastAckMs = -Infinity;
  private readonly state = new Map<string, MemberMapState>();
  private flushTimer: TimerHandle | undefined;
  private lastFlushEndMs = -Infinity;
  private lastFlushTookMs = 0;
  private flushing = false;
  private windowMs: number;
  /** Members with parts to send: deltas first (they keep everyone current), then full maps. */
  private readonly readyDelta = new Set<MemberMapState>();
  private readonly readyFull = new Set<MemberMapState>();
  /** Members streaming a full map (at most mapFullConcurrent), and those waiting their turn (FIFO). */
  private readonly fullActive = new Set<MemberMapState>();
  private readonly fullWaiting = new Set<MemberMapState>();
  /** The pump runs after the I/O waiting is read (deferOn: no 1 ms timer gap between slices). */
  private readonly defer: (fn: () => void) => void;
  private pumpScheduled = false;
  /** When the pump last asked for a turn of the event loop (its wait is reported per fan-out). */
  private pumpAskedMs = 0;
  /** Cumulative pump counts (FanoutReport.pump: a fan-out's share of them). */
  readonly pumpTotals: PumpTotals = { slices: 0, parts: 0, busyMs: 0, waitMs: 0, inflightStops: 0 };
  private closed = false;
  /** MAP parts sent and not acked, over all members. */
  private inflight = 0;
  private snapshot: { version: number; builtMs: number; parts: readonly MapPart[] } | undefined;
  /** When the first change not yet flushed happened. */
  private changedSinceMs: number | undefined;
  /** The last flush whose fan-out completed (every map it queued acked, superseded or given up). */
  lastFanout: FanoutReport | undefined;

  private readonly clock: Clock;
  private readonly registry: Registry;
  private readonly recipients: Pick<Registry, 'all' | 'size'>;
  private readonly send: (m: Member, inner: Uint8Array) => void;
  private readonly reliableOf: (m: Member) => ReliableSender;
  private readonly coalesceMs: number;
  private readonly inflightLimit: number;
  private readonly fullConcurrent: number;
  private readonly onFanout: ((r: FanoutReport) => void) | undefined;
  private readonly routesOf: RoutesOf | undefined;
  /** Scoped maps (docs/ACL.md "Scoped maps"): present while the hub has an ACL policy. */
  private views: ScopeViews | undefined;
  private policyKey = '';
  /** Full-map snapshots per view class (the unscoped `snapshot` otherwise). */
  private readonly classSnapshots = new Map<number, { version: number; builtMs: number; parts: readonly MapPart[] }>();

  constructor(o: MapSenderOptions) {
    this.clock = o.clock;
    this.registry = o.registry;
    this.recipients = o.recipients ?? o.registry;
    this.send = o.send;
    this.reliableOf = o.reliableOf;
    this.coalesceMs = o.coalesceMs ?? mapCoalesceMs;
    this.inflightLimit = o.inflightLimit ?? mapInflightParts;
    this.fullConcurrent = o.fullConcurrent ?? mapFullConcurrent;
    this.onFanout = o.onFanout;
    this.routesOf = o.routesOf;
    this.windowMs = this.coalesceMs;
    this.defer = deferOn(o.clock);
  }

  private stateOf(m: Member): MemberMapState {
    let s = this.state.get(m.id);
    if (!s) {
      s = { member: m, acked: 0, out: undefined, reliable: this.reliableOf(m), timer: undefined, retryMs: mapFirstRetryMs, timerDueMs: 0, putOff: false, timeouts: 0, lastProgressMs: 0, counted: 0, quiet: false, answered: false, needFull: false, delivered: 0 };
      this.state.set(m.id, s);
    }
    return s;
  }

  ackedVersion(m: Member): number {
    return this.state.get(m.id)?.acked ?? 0;
  }

  /** Members queued for the pump: with a delta, with a full map streaming, waiting to start one. */
  get queued(): { delta: number; full: number; fullWaiting: number } {
    return { delta: this.readyDelta.size, full: this.readyFull.size, fullWaiting: this.fullWaiting.size };
  }

  /** MAP parts sent and unacked over all members (never above the in-flight limit). */
  get inFlight(): number {
    return this.inflight;
  }

  /** Sends a full map (registration, or repair from a version the log no longer covers): the
   * current snapshot when it is recent enough, else a new one. */
  sendFull(m: Member): void {
    this.startFull(this.stateOf(m));
  }

  private startFull(s: MemberMapState): Outgoing {
    s.acked = 0;
    const now = this.clock.now();
    const views = this.views;
    if (views) {
      this.syncScope();
      const c = views.classOf(s.member);
      let snap = this.classSnapshots.get(c);
      if (!snap || (snap.version !== this.registry.version && now - snap.builtMs >= mapSnapshotMaxAgeMs)) {
        const version = this.registry.version;
        snap = { version, builtMs: now, parts: buildParts(version, 0, views.fullBytes(c), mapPartBudgetBytes) };
        this.classSnapshots.set(c, snap);
        this.counters.snapshots++;
      }
      return this.start(s, snap.version, 0, snap.parts);
    }
    let snap = this.snapshot;
    if (!snap || (snap.version !== this.registry.version && now - snap.builtMs >= mapSnapshotMaxAgeMs)) {
      const version = this.registry.version;
      snap = this.snapshot = { version, builtMs: now, parts: buildParts(version, 0, this.registry.fullMapBytes(), mapPartBudgetBytes) };
      this.counters.snapshots++;
    }
    return this.start(s, snap.version, 0, snap.parts);
  }

  /** The member proved its endpoint (hub/endpoint-guard.ts): parts held back meanwhile go now
   * instead of at the next (backed-off) retransmission. */
  resume(m: Member): void {
    const s = this.state.get(m.id);
    const out = s?.out;
    if (!s || !out) return;
    s.retryMs = mapFirstRetryMs;
    s.timeouts = 0;
    s.quiet = false;
    s.lastProgressMs = this.clock.now();
    this.resend(s, out);
    this.ready(s);
  }

  /** The map changed: every member behind gets one delta at the next flush. */
  changed(): void {
    this.changedSinceMs ??= this.clock.now();
    if (this.flushTimer !== undefined) return;
    const since = this.clock.now() - this.lastFlushEndMs;
    this.windowMs = nextWindowMs(this.windowMs, since, this.recipients.size, this.coalesceMs);
    const spacing = mapFlushSpacingFactor * this.lastFlushTookMs - since;
    this.flushTimer = this.clock.setTimer(Math.max(this.windowMs, spacing), () => this.flush());
  }

  /** Queues for each member that is behind and has nothing in flight one delta from its acked
   * version (deltas for the same base are cut once per flush); the pump sends them. */
  flush(): void {
    if (this.flushTimer !== undefined) this.clock.clearTimer(this.flushTimer);
    this.flushTimer = undefined;
    this.flushing = true;
    try {
      this.flushNow();
    } finally {
      this.flushing = false;
    }
  }

  private flushNow(): void {
    const t0 = this.clock.now();
    const version = this.registry.version;
    const byBase = new Map<number, readonly MapPart[] | undefined>();
    const fanout = new Fanout(version, this.changedSinceMs ?? t0, t0, (r) => {
      this.lastFanout = r;
      this.onFanout?.(r);
    }, () => ({ ...this.pumpTotals }));
    this.changedSinceMs = undefined;
    const views = this.views;
    if (views) this.syncScope();
    const byClassBase = new Map<string, readonly MapPart[] | undefined>();
    for (const m of this.recipients.all()) {
      const s = this.stateOf(m);
      if (s.out || (s.acked === version && !s.needFull)) continue;
      let parts: readonly MapPart[] | undefined;
      if (s.needFull) parts = undefined;
      else if (views) {
        // Scoped: members of one view class at one version share the delta.
        // Nothing it sees changed: no datagram, it is up to date (a change costs the members who
        // see it, not every member). It still holds `delivered`, so later deltas are labelled so.
        const c = views.classOf(m);
        const key = `${c}:${s.acked}:${s.delivered}`;
        parts = byClassBase.get(key);
        if (!byClassBase.has(key)) {
          const delta = views.deltaBytes(c, s.acked);
          parts = delta === undefined ? undefined : buildParts(version, s.delivered, delta, mapPartBudgetBytes);
          byClassBase.set(key, parts);
        }
        if (parts !== undefined && parts.length === 1 && parts[0]!.entries === 0 && s.delivered > 0) {
          s.acked = version;
          this.counters.skipped++;
          continue;
        }
      } else {
        parts = byBase.get(s.acked);
        if (!byBase.has(s.acked)) {
          const delta = this.registry.changeBytesSince(s.acked);
          parts = delta === undefined ? undefined : buildParts(version, s.acked, delta, mapPartBudgetBytes);
          byBase.set(s.acked, parts);
        }
      }
      const out = parts === undefined ? this.startFull(s) : this.start(s, version, views ? s.delivered : s.acked, parts);
      out.fanout = fanout;
      fanout.add();
    }
    this.counters.flushes++;
    this.lastFlushEndMs = this.clock.now();
    this.lastFlushTookMs = this.lastFlushEndMs - t0;
  }

  /** A HEARTBEAT said the member holds `version`: when it is behind and nothing is in flight that
   * applies to what it holds, the next flush sends it a delta (shared with every member at the same
   * version: cutting one per heartbeat made 500 heartbeats a second at 10,000 members each cut a
   * delta of thousands of entries in a join storm, and the hub stopped reading its socket). */
  reported(m: Member, version: number): void {
    const s = this.stateOf(m);
    // Scoped: a member still at the version it was last given is as current as `acked` says.
    const current = this.views !== undefined && version === s.delivered && s.acked > version;
    if (version <= this.registry.version && !current) s.acked = s.delivered = version;
    if (s.acked === this.registry.version && !s.needFull) return;
    if (s.out && s.out.base <= s.acked && s.out.version > s.acked) return;
    if (s.out) this.drop(s); // it cannot apply what is in flight (it lost a map): the flush repairs
    this.changed();
  }

  /** An ACK from the member; false when the seq was not a MAP part. */
  acked(m: Member, seq: number): boolean {
    const s = this.state.get(m.id);
    const out = s?.out;
    const sent = out?.unacked.get(seq);
    if (!s || !out || !sent) return false;
    out.unacked.delete(seq);
    const now = this.clock.now();
    this.lastAckMs = now;
    this.srttMs = nextSrttMs(this.srttMs, now - sent.sentMs);
    s.putOff = false;
    out.left--;
    if (s.counted > 0) {
      s.counted--;
      this.release(1);
    }
    s.quiet = false;
    s.answered = true;
    s.lastProgressMs = this.clock.now();
    s.timeouts = 0;
    s.retryMs = nextRetryMs(s.retryMs, 'ack');
    if (out.left > 0) {
      this.ready(s);
      return true;
    }
    s.out = undefined;
    this.disarm(s);
    this.leaveFull(s);
    if (out.base === 0) s.needFull = false;
    out.fanout?.finished(this.clock.now(), true);
    if (out.version > s.acked || s.acked > this.registry.version) s.acked = out.version;
    s.delivered = s.acked;
    if (s.acked !== this.registry.version || s.needFull) this.changed(); // changes arrived meanwhile: next flush
    return true;
  }

  /** The hub's ACL policy (or none) from now on: with one, each member's map carries only the
   * members it may reach or be reached by (map-scope.ts), and every member gets a full map in its
   * new scope; a policy equal to the current one changes nothing. */
  setPolicy(p: AclPolicyFile | undefined): void {
    const key = p ? JSON.stringify({ tags: [...p.tags].map(([t, n]) => [t, [...n]]), rules: p.rules }) : '';
    if (key === this.policyKey) return;
    this.policyKey = key;
    this.views = p ? new ScopeViews(p, this.registry, this.routesOf) : undefined;
    this.resetScope('all');
    this.changed();
  }

  /** Whether maps are scoped, into how many view classes, and the mean entries a member's map
   * holds (hub status). */
  get scope(): { scoped: boolean; classes: number; meanEntries: number } {
    const views = this.views;
    const members = this.recipients.all();
    if (!views) return { scoped: false, classes: 0, meanEntries: members.length === 0 ? 0 : this.registry.size };
    this.syncScope();
    const per = new Map<number, number>();
    let sum = 0;
    for (const m of members) {
      const c = views.classOf(m);
      let n = per.get(c);
      if (n === undefined) per.set(c, (n = views.visibleCount(c)));
      sum += n;
    }
    return { scoped: true, classes: views.classes.count, meanEntries: members.length === 0 ? 0 : Math.round((sum / members.length) * 10) / 10 };
  }

  /** Members whose map covers the current version (acked, nothing in flight, no full map owed).
   * With scoped maps a member that sees none of the latest changes is current without having
   * received their version number: count this, not the version members hold, to tell a settled map. */
  get current(): number {
    const v = this.registry.version;
    let n = 0;
    for (const s of this.state.values()) if (s.acked === v && !s.out && !s.needFull) n++;
    return n;
  }

  /** Whether the two members' maps hold each other (always without a policy): PUNCH only then. */
  mayMeet(a: Member, b: Member): boolean {
    const views = this.views;
    return views === undefined || views.classes.sees(views.classOf(a), views.classOf(b));
  }

  /** The routes this hub knows changed: a member that became (or stopped being) a router for an
   * address a rule names changes class. */
  routesChanged(): void {
    if (!this.views) return;
    this.resetScope(this.views.refresh());
  }

  /** Follows the map's changes into the view classes; members whose scope changed get full maps. */
  private syncScope(): void {
    if (this.views) this.resetScope(this.views.sync());
  }

  private resetScope(r: ScopeResets | 'all'): void {
    if (r !== 'all' && r.ids.size === 0 && r.classes.size === 0) return;
    this.classSnapshots.clear();
    const views = this.views;
    for (const s of this.state.values()) {
      if (r !== 'all' && !r.ids.has(s.member.id) && !(views && r.classes.has(views.classOf(s.member)))) continue;
      s.needFull = true;
      this.drop(s); // whatever is in flight was cut for the old scope
    }
    views?.prune();
    if (!this.flushing) this.changed();
  }

  forget(m: Member): void {
    const s = this.state.get(m.id);
    if (!s) return;
    this.drop(s);
    this.disarm(s);
    this.state.delete(m.id);
  }

  close(): void {
    for (const s of this.state.values()) this.disarm(s);
    if (this.flushTimer !== undefined) this.clock.clearTimer(this.flushTimer);
    this.flushTimer = undefined;
    this.closed = true;
  }

  /** Starts delivering `parts` of `version`; a newer map supersedes whatever is in flight (it
   * covers the same changes). */
  private start(s: MemberMapState, version: number, base: number, parts: readonly MapPart[]): Outgoing {
    this.drop(s);
    const out: Outgoing = { version, base, parts, next: 0, unacked: new Map(), left: parts.length };
    s.out = out;
    s.lastProgressMs = this.clock.now();
    s.timeouts = 0;
    this.ready(s);
    return out;
  }

  /** Takes the member's map in flight off the books (superseded, given up, member gone). */
  private drop(s: MemberMapState): void {
    if (!s.out) return;
    const f = s.out.fanout;
    if (f) {
      const now = this.clock.now();
      if (s.out.next < s.out.parts.length) f.sent(now);
      f.finished(now, false);
    }
    this.release(s.counted);
    s.counted = 0;
    s.out = undefined;
    this.readyDelta.delete(s);
    this.readyFull.delete(s);
    this.leaveFull(s);
  }

  /** The member's full map is done or gone: the next joiner waiting starts streaming. */
  private leaveFull(s: MemberMapState): void {
    this.fullWaiting.delete(s);
    if (!this.fullActive.delete(s)) return;
    for (const next of this.fullWaiting) {
      if (this.fullActive.size >= this.fullConcurrent) break;
      this.fullWaiting.delete(next);
      if (next.out?.base === 0) this.ready(next);
    }
  }

  private release(n: number): void {
    this.inflight -= n;
    if (this.readyDelta.size + this.readyFull.size > 0) this.schedulePump();
  }

  /** Queues the member for the pump when it has a part to send and room in its window. */
  private ready(s: MemberMapState): void {
    const out = s.out;
    if (!out || out.next >= out.parts.length || out.unacked.size >= windowParts(s.quiet, s.answered)) return;
    if (out.base === 0 && !this.fullActive.has(s)) {
      if (this.fullActive.size >= this.fullConcurrent) {
        this.fullWaiting.add(s);
        return;
      }
      this.fullActive.add(s);
    }
    (out.base === 0 ? this.readyFull : this.readyDelta).add(s);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed || this.inflight >= this.inflightLimit) return;
    this.pumpScheduled = true;
    this.pumpAskedMs = this.clock.now();
    this.defer(() => this.pump());
  }

  private pump(): void {
    this.pumpScheduled = false;
    if (this.closed) return;
    this.counters.pumps++;
    const t0 = this.clock.now();
    const p = this.pumpTotals;
    const parts0 = this.counters.parts;
    p.waitMs += t0 - this.pumpAskedMs;
    const stop = this.pumpSlice(t0);
    p.slices++;
    p.busyMs += this.clock.now() - t0;
    p.parts += this.counters.parts - parts0;
    if (stop === 'inflight') p.inflightStops++;
    if (stop === 'slice') this.schedulePump();
  }

  /** Sends queued parts round robin (a member's free window at a time), deltas first, until the
   * in-flight limit or the time slice is reached; the rest waits for the next turn of the loop. */
  private pumpSlice(t0: number): 'inflight' | 'slice' | 'done' {
    let visits = 0;
    for (const queue of [this.readyDelta, this.readyFull]) {
      for (const s of queue) {
        if (this.inflight >= this.inflightLimit) return 'inflight';
        if ((++visits & 3) === 0 && this.clock.now() - t0 >= mapPumpSliceMs) return 'slice';
        queue.delete(s);
        const out = s.out;
        if (!out) continue;
        const window = windowParts(s.quiet, s.answered);
        while (out.next < out.parts.length && out.unacked.size < window && this.inflight < this.inflightLimit) {
          const i = out.next++;
          const seq = s.reliable.nextSeq();
          out.unacked.set(seq, { part: i, sentMs: this.clock.now() });
          this.inflight++;
          s.counted++;
          this.counters.parts++;
          this.send(s.member, withSeq(out.parts[i]!, seq));
        }
        if (out.next === out.parts.length) out.fanout?.sent(this.clock.now());
        if (s.timer === undefined) this.arm(s, this.retryDelay(s));
        if (out.next < out.parts.length && out.unacked.size < window) queue.add(s); // to the back
      }
    }
    return 'done';
  }

  private resend(s: MemberMapState, out: Outgoing): void {
    let n = windowParts(s.quiet, s.answered);
    for (const [seq, u] of out.unacked) {
      if (n-- <= 0) break;
      this.counters.retransmits++;
      u.sentMs = this.clock.now();
      this.send(s.member, withSeq(out.parts[u.part]!, seq));
    }
  }

  /** The member did not answer within its retransmit delay: its parts stop holding the hub-wide
   * in-flight budget and its full-map slot goes to the next joiner (it gets one back on an ACK). */
  private quieten(s: MemberMapState): void {
    if (s.quiet) return;
    s.quiet = true;
    this.counters.quiet++;
    this.release(s.counted);
    s.counted = 0;
    if (this.fullActive.has(s)) this.leaveFull(s);
  }

  private retryDelay(s: MemberMapState): number {
    return Math.max(s.retryMs, retryFloorMs(this.srttMs));
  }

  private arm(s: MemberMapState, ms: number): void {
    s.timerDueMs = this.clock.now() + ms;
    s.timer = this.clock.setTimer(ms, () => this.onTimer(s));
  }

  private onTimer(s: MemberMapState): void {
    s.timer = undefined;
    const out = s.out;
    if (!out || this.state.get(s.member.id) !== s) return;
    if (out.unacked.size === 0) return; // waiting for the pump, not for the member
    const now = this.clock.now();
    const delay = this.retryDelay(s);
    const idle = now - s.lastProgressMs;
    // Not yet due (progress since the timer was armed). Within a millisecond counts as due: with
    // fractional clocks `delay - idle` can round to a hair above zero, and a test clock (which,
    // unlike Node's, honours sub-millisecond timers) would re-arm it forever.
    if (delay - idle >= 1) return this.arm(s, delay - idle);
    if (now - s.timerDueMs > mapLateTimerMs && !s.putOff) {
      s.putOff = true; // our own loop is behind: read the socket before resending
      this.counters.putOff++;
      return this.arm(s, delay);
    }
    if (holdRetransmit(now, this.lastAckMs, oldestSentMs(out))) {
      this.counters.held++;
      return this.arm(s, mapHoldRecheckMs);
    }
    if (++s.timeouts >= mapMaxSendsWithoutProgress) {
      this.drop(s); // given up: the member's next HEARTBEAT reports its version and repairs
      this.counters.giveUps++;
      return;
    }
    s.retryMs = nextRetryMs(s.retryMs, 'timeout');
    s.lastProgressMs = now;
    this.quieten(s);
    this.resend(s, out);
    this.arm(s, this.retryDelay(s));
  }

  private disarm(s: MemberMapState): void {
    if (s.timer !== undefined) this.clock.clearTimer(s.timer);
    s.timer = undefined;
  }
}
