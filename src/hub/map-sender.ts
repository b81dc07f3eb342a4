// Distributes the versioned peer map to members reliably: a full map on registration (and when a
// member's version is too old for a delta), deltas after each change, split into datagram-sized
// parts, each part retransmitted until acked (src/link/reliable.ts). Used by hub/server.ts.
import { ReliableSender } from '../link/reliable.js';
import type { Clock } from '../util/clock.js';
import { ControlType, MAP_HEADER_BYTES, mapEntryBytes, type ControlMessage, type MapEntry } from '../wire/control.js';
import type { Member, Registry } from './registry.js';

/** Local tuning: MAP body budget so a part plus inner, TRANSPORT and IP/UDP headers fits 1280 bytes. */
export const mapPartBudgetBytes = 1100;

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

interface MemberMapState {
  /** Highest version the member confirmed (ACK of every part, or its HEARTBEAT). */
  acked: number;
  /** seq -> version of MAP parts in flight, with the parts left for that version. */
  inFlight: Map<number, number>;
  partsLeft: Map<number, number>;
  reliable: ReliableSender;
}

export class MapSender {
  private readonly state = new Map<string, MemberMapState>();

  constructor(
    private readonly clock: Clock,
    private readonly registry: Registry,
    private readonly send: (m: Member, msg: ControlMessage) => void,
    /** The reliable sender of a member (shared with PUNCH so seqs are unique per member). */
    private readonly reliableOf: (m: Member) => ReliableSender,
  ) {}

  private stateOf(m: Member): MemberMapState {
    let s = this.state.get(m.id);
    if (!s) {
      s = { acked: 0, inFlight: new Map(), partsLeft: new Map(), reliable: this.reliableOf(m) };
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
    this.sendVersion(m, s, 0, this.registry.fullMap());
  }

  /** Brings a member up to the current version from what it has confirmed. */
  update(m: Member): void {
    const s = this.stateOf(m);
    if (s.acked === this.registry.version) return;
    const delta = this.registry.changesSince(s.acked);
    if (delta === undefined) this.sendFull(m);
    else this.sendVersion(m, s, s.acked, delta);
  }

  /** A HEARTBEAT said the member holds `version`: repair it when behind (a newer map supersedes
   * anything in flight; at most one extra map per heartbeat interval). */
  reported(m: Member, version: number): void {
    const s = this.stateOf(m);
    if (version <= this.registry.version) s.acked = version;
    if (s.acked !== this.registry.version) this.update(m);
  }

  /** An ACK from the member; false when the seq was not a MAP part. */
  acked(m: Member, seq: number): boolean {
    const s = this.state.get(m.id);
    const version = s?.inFlight.get(seq);
    if (!s || version === undefined) return false;
    s.reliable.ack(seq);
    s.inFlight.delete(seq);
    const left = (s.partsLeft.get(version) ?? 1) - 1;
    if (left > 0) s.partsLeft.set(version, left);
    else {
      s.partsLeft.delete(version);
      if (version > s.acked || s.acked > this.registry.version) s.acked = version;
    }
    return true;
  }

  forget(m: Member): void {
    const s = this.state.get(m.id);
    if (!s) return;
    for (const seq of s.inFlight.keys()) s.reliable.cancel(seq);
    this.state.delete(m.id);
  }

  private sendVersion(m: Member, s: MemberMapState, base: number, entries: MapEntry[]): void {
    // A newer map supersedes whatever is still in flight; it covers the same changes.
    for (const seq of s.inFlight.keys()) s.reliable.cancel(seq);
    s.inFlight.clear();
    s.partsLeft.clear();
    const version = this.registry.version;
    const parts = splitMap(entries);
    s.partsLeft.set(version, parts.length);
    parts.forEach((part, i) => {
      const seq = s.reliable.nextSeq();
      s.inFlight.set(seq, version);
      const msg: ControlMessage = { type: ControlType.MAP, seq, version, base, part: i, parts: parts.length, entries: part };
      s.reliable.track(
        seq,
        () => this.send(m, msg),
        () => s.inFlight.delete(seq), // given up: the member's next HEARTBEAT reports its version and repairs
      );
    });
  }
}
