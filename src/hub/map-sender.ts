// Distributes the versioned peer map to members reliably: a full map on registration (and when a
// member's version is too old for a delta), coalesced deltas after changes, split into
// datagram-sized parts, each part retransmitted until acked. Used by hub/server.ts.
//
// Load shape (docs/RELIABILITY.md "Hub load"): changes are not sent one delta per member per
// change (a join storm was O(N^2) datagrams) but collected for `mapCoalesceMs` (doubling up to
// `mapCoalesceMaxMs` while changes keep coming) and flushed as one
// delta per member covering everything since its acked version; a member with a map still in
// flight gets the rest when that one is acked. Each member has at most `mapWindowParts` parts
// unacked and one retransmit timer whose delay doubles while nothing is acked, so an overloaded
// hub (or peer) is not answered with more traffic.
import type { ReliableSender } from '../link/reliable.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ControlType, MAP_HEADER_BYTES, mapEntryBytes, type ControlMessage, type MapEntry } from '../wire/control.js';
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

/** Splits entries into parts that each fit the budget (pure). */
export function splitMap(entries: MapEntry[], budget = mapPartBudgetBytes): MapEntry[][] {
  const parts: MapEntry[][] = [[]];
  let used = MAP_HEADER_BYTES;
  for (const e of entries) {
    const n = mapEntryBytes(e);
    if (used + n > budget && parts[parts.length - 1]!.length > 0) {
      parts.push([]);
      used = MAP_HEADER_BYTES;
    }
    parts[parts.length - 1]!.push(e);
    used += n;
  }
  return parts;
}

/** Coalescing window for a change (pure): the base window after a quiet spell, doubling while
 * changes keep coming, capped. */
export function nextWindowMs(windowMs: number, sinceLastFlushMs: number, members: number, baseMs = mapCoalesceMs): number {
  const cap = Math.max(mapCoalesceMaxMs, members * mapStormMsPerMember, baseMs);
  return sinceLastFlushMs > mapQuietMs ? baseMs : Math.min(Math.max(windowMs, baseMs) * 2, cap);
}

/** Retransmit delay after a timeout or an ACK (pure): doubles while nothing is acked, halves back. */
export function nextRetryMs(currentMs: number, event: 'timeout' | 'ack'): number {
  return event === 'timeout' ? Math.min(currentMs * 2, mapMaxRetryMs) : Math.max(mapFirstRetryMs, currentMs / 2);
}

/** One version on its way to a member. */
interface Outgoing {
  version: number;
  base: number;
  parts: MapEntry[][];
  /** Index of the next part not yet sent. */
  next: number;
  /** Parts sent and not acked, by seq. */
  unacked: Map<number, ControlMessage>;
  /** Parts not yet acked (sent or not). */
  left: number;
}

interface MemberMapState {
  /** Highest version the member confirmed (ACK of every part, or its HEARTBEAT). */
  acked: number;
  out: Outgoing | undefined;
  /** Seqs come from the member's reliable sender (shared with PUNCH so they are unique per member). */
  reliable: ReliableSender;
  timer: TimerHandle | undefined;
  retryMs: number;
  timeouts: number;
  lastProgressMs: number;
}

export class MapSender {
  readonly counters = { parts: 0, retransmits: 0, giveUps: 0, flushes: 0 };
  private readonly state = new Map<string, MemberMapState>();
  private flushTimer: TimerHandle | undefined;
  private lastFlushEndMs = -Infinity;
  private lastFlushTookMs = 0;
  private windowMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly registry: Registry,
    private readonly send: (m: Member, msg: ControlMessage) => void,
    private readonly reliableOf: (m: Member) => ReliableSender,
    private readonly coalesceMs = mapCoalesceMs,
  ) {
    this.windowMs = coalesceMs;
  }

  private stateOf(m: Member): MemberMapState {
    let s = this.state.get(m.id);
    if (!s) {
      s = { acked: 0, out: undefined, reliable: this.reliableOf(m), timer: undefined, retryMs: mapFirstRetryMs, timeouts: 0, lastProgressMs: 0 };
      this.state.set(m.id, s);
    }
    return s;
  }

  ackedVersion(m: Member): number {
    return this.state.get(m.id)?.acked ?? 0;
  }

  /** Sends a full map (registration, or repair from a version the log no longer covers). */
  sendFull(m: Member): void {
    const s = this.stateOf(m);
    s.acked = 0;
    this.start(m, s, 0, splitMap(this.registry.fullMap()));
  }

  /** A member registered again with nothing changed (same boot id: its map and the parts it has
   * assembled are intact): a full map still in flight carries on, its unacked parts re-sent now,
   * instead of starting over. Re-registrations after heartbeat timeouts each restarting an
   * O(members) full map were what kept an overloaded hub overloaded (RELIABILITY.md). */
  reregistered(m: Member): void {
    const s = this.stateOf(m);
    const out = s.out;
    if (!out || out.base !== 0) return this.sendFull(m);
    s.retryMs = mapFirstRetryMs;
    s.timeouts = 0;
    s.lastProgressMs = this.clock.now();
    for (const msg of out.unacked.values()) {
      this.counters.retransmits++;
      this.send(m, msg);
    }
    this.fill(m, s, out);
  }

  /** The map changed: every member behind gets one delta at the next flush. */
  changed(): void {
    if (this.flushTimer !== undefined) return;
    const since = this.clock.now() - this.lastFlushEndMs;
    this.windowMs = nextWindowMs(this.windowMs, since, this.registry.size, this.coalesceMs);
    const spacing = mapFlushSpacingFactor * this.lastFlushTookMs - since;
    this.flushTimer = this.clock.setTimer(Math.max(this.windowMs, spacing), () => this.flush());
  }

  /** Sends each member that is behind and has nothing in flight one delta from its acked version
   * (deltas for the same base are cut and split once per flush). */
  flush(): void {
    if (this.flushTimer !== undefined) this.clock.clearTimer(this.flushTimer);
    this.flushTimer = undefined;
    const t0 = this.clock.now();
    const version = this.registry.version;
    const byBase = new Map<number, MapEntry[][] | undefined>();
    for (const m of this.registry.all()) {
      const s = this.stateOf(m);
      if (s.out || s.acked === version) continue;
      let parts = byBase.get(s.acked);
      if (!byBase.has(s.acked)) {
        const delta = this.registry.changesSince(s.acked);
        parts = delta === undefined ? undefined : splitMap(delta);
        byBase.set(s.acked, parts);
      }
      if (parts === undefined) this.sendFull(m);
      else this.start(m, s, s.acked, parts);
    }
    this.counters.flushes++;
    this.lastFlushEndMs = this.clock.now();
    this.lastFlushTookMs = this.lastFlushEndMs - t0;
  }

  /** Brings a member up to the current version from what it has confirmed, now. */
  update(m: Member): void {
    const s = this.stateOf(m);
    if (s.acked === this.registry.version) return;
    const delta = this.registry.changesSince(s.acked);
    if (delta === undefined) this.sendFull(m);
    else this.start(m, s, s.acked, splitMap(delta));
  }

  /** A HEARTBEAT said the member holds `version`: repair it when behind, unless the map in flight
   * already applies to what it holds (at most one extra map per heartbeat interval). */
  reported(m: Member, version: number): void {
    const s = this.stateOf(m);
    if (version <= this.registry.version) s.acked = version;
    if (s.acked === this.registry.version) return;
    if (s.out && s.out.base <= s.acked && s.out.version > s.acked) return;
    this.update(m);
  }

  /** An ACK from the member; false when the seq was not a MAP part. */
  acked(m: Member, seq: number): boolean {
    const s = this.state.get(m.id);
    const out = s?.out;
    if (!s || !out || !out.unacked.delete(seq)) return false;
    out.left--;
    s.lastProgressMs = this.clock.now();
    s.timeouts = 0;
    s.retryMs = nextRetryMs(s.retryMs, 'ack');
    if (out.left > 0) {
      this.fill(m, s, out);
      return true;
    }
    s.out = undefined;
    this.disarm(s);
    if (out.version > s.acked || s.acked > this.registry.version) s.acked = out.version;
    if (s.acked !== this.registry.version) this.changed(); // changes arrived meanwhile: next flush
    return true;
  }

  forget(m: Member): void {
    const s = this.state.get(m.id);
    if (!s) return;
    this.disarm(s);
    this.state.delete(m.id);
  }

  close(): void {
    for (const s of this.state.values()) this.disarm(s);
    if (this.flushTimer !== undefined) this.clock.clearTimer(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Starts delivering `parts` of the current version; a newer map supersedes whatever is in flight
   * (it covers the same changes). */
  private start(m: Member, s: MemberMapState, base: number, parts: MapEntry[][]): void {
    s.out = { version: this.registry.version, base, parts, next: 0, unacked: new Map(), left: parts.length };
    s.lastProgressMs = this.clock.now();
    s.timeouts = 0;
    this.fill(m, s, s.out);
  }

  /** Sends parts not yet sent while fewer than `mapWindowParts` are unacked. */
  private fill(m: Member, s: MemberMapState, out: Outgoing): void {
    while (out.next < out.parts.length && out.unacked.size < mapWindowParts) {
      const i = out.next++;
      const seq = s.reliable.nextSeq();
      const msg: ControlMessage = { type: ControlType.MAP, seq, version: out.version, base: out.base, part: i, parts: out.parts.length, entries: out.parts[i]! };
      out.unacked.set(seq, msg);
      this.counters.parts++;
      this.send(m, msg);
    }
    if (s.timer === undefined) s.timer = this.clock.setTimer(s.retryMs, () => this.onTimer(m, s));
  }

  private onTimer(m: Member, s: MemberMapState): void {
    s.timer = undefined;
    const out = s.out;
    if (!out || this.state.get(m.id) !== s) return;
    const idle = this.clock.now() - s.lastProgressMs;
    if (idle < s.retryMs) {
      s.timer = this.clock.setTimer(s.retryMs - idle, () => this.onTimer(m, s));
      return;
    }
    if (++s.timeouts >= mapMaxSendsWithoutProgress) {
      s.out = undefined; // given up: the member's next HEARTBEAT reports its version and repairs
      this.counters.giveUps++;
      return;
    }
    s.retryMs = nextRetryMs(s.retryMs, 'timeout');
    s.lastProgressMs = this.clock.now();
    for (const msg of out.unacked.values()) {
      this.counters.retransmits++;
      this.send(m, msg);
    }
    s.timer = this.clock.setTimer(s.retryMs, () => this.onTimer(m, s));
  }

  private disarm(s: MemberMapState): void {
    if (s.timer !== undefined) this.clock.clearTimer(s.timer);
    s.timer = undefined;
  }
}
