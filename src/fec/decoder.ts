// The receiving half of FEC, a pure state machine on an injected `now`: a DATA shard is delivered the
// moment it arrives (never held for its group); once any k shards of a group are present the missing
// data shards are rebuilt (fec/rs.ts) and delivered, without waiting for a round trip; duplicates and
// late shards of finished groups are dropped. Memory is bounded by maxGroups open groups and a
// timeout; a group that times out still missing data counts as unrecoverable. Used by the data path
// per remote peer and session. The frames it is given may live in a buffer the caller reuses (the
// peer decrypts in place in the socket's receive slots): it copies each symbol it keeps for a repair
// into a slot of its own, reused once the group ends, and delivers views only during push(). A
// packet's way through allocates nothing that outlives it: a kept symbol is its slot and a length
// (views are made only for a repair), and groups are reused. Every object that lived a group's
// lifetime was promoted to V8's old space: a receiver at 500 Mbit/s promoted ~6 MiB/s of them, all
// garbage for the next full collection (issue 19 item 7, session 16).
import { decodeFecFrame, FEC_DATA_SYMBOL_OFFSET, FEC_SYMBOL_LEN_BYTES, FecOp } from './frame.js';
import { reconstruct, tsShardMul, type ShardMul } from './rs.js';
import { DecodeError } from '../util/errors.js';

/** Groups kept at once (local tuning: 64 groups of 10 + 3 MTU-sized shards is ~1.2 MB worst case). */
export const defaultMaxGroups = 64;
/** Bytes of a pooled symbol slot (local tuning: a symbol of an MTU-sized message fits; a longer
 * one gets a copy of its own). */
export const symbolSlotBytes = 2048;
/** Slots kept for reuse (local tuning: ~40 groups of 32 + 7 in flight; 3 MB at most). */
const maxPooledSlots = 1536;

/** How long a group waits for the shards that would repair it (local tuning: parity leaves within
 * the sender's flushMs of the group's first shard, so this only has to cover jitter and reordering). */
export const defaultGroupTimeoutMs = 300;

export interface FecDecoderOptions {
  /** Receives each inner message: as it arrives, or rebuilt (`repaired`). The bytes are views. */
  readonly deliver: (shard: Uint8Array, repaired: boolean) => void;
  readonly mul?: ShardMul;
  readonly maxGroups?: number;
  readonly groupTimeoutMs?: number;
}

export interface FecDecoderStats {
  dataShards: number;
  parityShards: number;
  /** Data shards rebuilt from parity and delivered. */
  repaired: number;
  /** Shards dropped because they, or their whole group, had already been delivered. */
  duplicates: number;
  /** DATA shards of a group already forgotten, delivered without FEC. */
  lateData: number;
  /** PARITY of a group already forgotten: dropped. */
  lateParity: number;
  /** PARITY of a group whose data had all arrived (the common case on a good path): dropped. */
  spareParity: number;
  /** Groups forgotten (timeout or maxGroups) still missing data, and the shards they missed. */
  unrecoverableGroups: number;
  unrecoveredShards: number;
  /** Frames that do not decode, or disagree with their group (k, m, lengths): dropped. */
  badFrames: number;
}

interface Group {
  id: number;
  openedAt: number;
  done: boolean;
  broken: boolean; // inconsistent frames seen: no repair
  k: number; // 0 until a parity frame says
  m: number;
  symbolBytes: number; // parity symbols' length, 0 until known
  /** Kept data symbols by index: a slot (longer than the symbol) or a copy of its own. */
  readonly data: (Uint8Array | undefined)[];
  /** Their lengths. */
  readonly dataLen: number[];
  /** Kept parity symbols by index, symbolBytes long each (slots likewise). */
  readonly parity: (Uint8Array | undefined)[];
  dataCount: number;
  parityCount: number;
  maxIndex: number;
}

/** a is before b in u32 serial order. */
function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export class FecDecoder {
  readonly stats: FecDecoderStats = {
    dataShards: 0, parityShards: 0, repaired: 0, duplicates: 0, lateData: 0, lateParity: 0, spareParity: 0,
    unrecoverableGroups: 0, unrecoveredShards: 0, badFrames: 0,
  };
  private readonly deliver: (shard: Uint8Array, repaired: boolean) => void;
  private readonly mul: ShardMul;
  private readonly maxGroups: number;
  private readonly timeoutMs: number;
  private readonly groups = new Map<number, Group>(); // insertion order = age
  private floor: number | undefined; // newest group forgotten: ids up to it are late
  private readonly slots: Uint8Array[] = []; // free symbol slots
  private readonly spareGroups: Group[] = []; // forgotten groups, for open()

  constructor(opts: FecDecoderOptions) {
    this.deliver = opts.deliver;
    this.mul = opts.mul ?? tsShardMul;
    this.maxGroups = opts.maxGroups ?? defaultMaxGroups;
    this.timeoutMs = opts.groupTimeoutMs ?? defaultGroupTimeoutMs;
  }

  /** Groups held now (open or finished and remembered). */
  get openGroups(): number {
    return this.groups.size;
  }

  /** Takes one FEC frame (kind byte first). Never throws: a bad frame is dropped and counted. */
  push(frame: Uint8Array, now: number): void {
    this.expire(now);
    let f;
    try {
      f = decodeFecFrame(frame);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.stats.badFrames++;
      return;
    }
    if (f.op === FecOp.REPORT) return; // for the sender's policy; the caller reads it with decodeFecFrame
    let g = this.groups.get(f.group);
    if (g === undefined) {
      if (this.floor !== undefined && !before(this.floor, f.group)) {
        if (f.op === FecOp.DATA) {
          this.stats.lateData++;
          this.deliver(f.shard, false);
        } else this.stats.lateParity++;
        return;
      }
      g = this.open(f.group, now);
    }
    if (f.op === FecOp.DATA) {
      this.stats.dataShards++;
      if (g.done || g.data[f.index] !== undefined) {
        this.stats.duplicates++;
        return;
      }
      if (g.k !== 0 && f.index >= g.k) {
        this.stats.badFrames++;
        return;
      }
      const symbol = frame.subarray(FEC_DATA_SYMBOL_OFFSET);
      if (g.symbolBytes !== 0 && symbol.byteLength > g.symbolBytes) g.broken = true;
      g.data[f.index] = this.keep(symbol);
      g.dataLen[f.index] = symbol.byteLength;
      g.dataCount++;
      if (f.index > g.maxIndex) g.maxIndex = f.index;
      this.deliver(f.shard, false);
    } else {
      this.stats.parityShards++;
      if (g.done) {
        this.stats.spareParity++;
        return;
      }
      if (g.k === 0) {
        if (g.maxIndex >= f.k) g.broken = true;
        g.k = f.k;
        g.m = f.m;
        g.symbolBytes = f.symbol.byteLength;
        for (let j = 0; j < g.data.length; j++) if (g.data[j] !== undefined && g.dataLen[j]! > g.symbolBytes) g.broken = true;
        if (g.dataCount >= g.k) {
          this.stats.spareParity++; // it only told us k
          this.settle(g);
          return;
        }
      } else if (f.k !== g.k || f.m !== g.m || f.symbol.byteLength !== g.symbolBytes) {
        this.stats.badFrames++;
        return;
      }
      if (g.parity[f.index] !== undefined) {
        this.stats.duplicates++;
        return;
      }
      g.parity[f.index] = this.keep(f.symbol);
      g.parityCount++;
    }
    this.settle(g);
  }

  /** Forgets groups past the timeout, counting those still missing data. Call now and then (the
   * data path's timer) so an idle decoder lets its memory go; push() calls it too. */
  expire(now: number): void {
    for (const g of this.groups.values()) {
      if (now - g.openedAt < this.timeoutMs) break;
      this.forget(g);
    }
  }

  private open(id: number, now: number): Group {
    if (this.groups.size >= this.maxGroups) this.forget(this.groups.values().next().value!);
    let g = this.spareGroups.pop();
    if (g === undefined) {
      g = {
        id, openedAt: now, done: false, broken: false, k: 0, m: 0, symbolBytes: 0,
        data: [], dataLen: [], parity: [], dataCount: 0, parityCount: 0, maxIndex: -1,
      };
    } else {
      g.id = id;
      g.openedAt = now;
      g.done = g.broken = false;
      g.k = g.m = g.symbolBytes = g.dataCount = g.parityCount = 0;
      g.maxIndex = -1;
    }
    this.groups.set(id, g);
    return g;
  }

  /** A copy of `symbol` that outlives the caller's buffer: a pooled slot (whole) when it fits. */
  private keep(symbol: Uint8Array): Uint8Array {
    if (symbol.byteLength > symbolSlotBytes) return symbol.slice();
    const slot = this.slots.pop() ?? new Uint8Array(symbolSlotBytes);
    slot.set(symbol);
    return slot;
  }

  /** Gives a finished or forgotten group's slots back; its lists keep their length for the next group. */
  private release(g: Group): void {
    for (const list of [g.data, g.parity]) {
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        if (s === undefined) continue;
        if (s.byteLength === symbolSlotBytes && this.slots.length < maxPooledSlots) this.slots.push(s);
        list[i] = undefined;
      }
    }
  }

  private forget(g: Group): void {
    this.groups.delete(g.id);
    this.release(g);
    if (this.floor === undefined || before(this.floor, g.id)) this.floor = g.id;
    if (!g.done) {
      const missing = (g.k !== 0 ? g.k : g.maxIndex + 1) - g.dataCount;
      if (missing > 0) {
        this.stats.unrecoverableGroups++;
        this.stats.unrecoveredShards += missing;
      }
    }
    if (this.spareGroups.length < this.maxGroups) this.spareGroups.push(g);
  }

  /** Repairs when k shards are present; finishes the group when all its data is delivered. */
  private settle(g: Group): void {
    if (g.k === 0) return;
    if (g.dataCount < g.k && !g.broken && g.dataCount + g.parityCount >= g.k) {
      // Views of the kept symbols at their lengths (slots are longer).
      const data: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(g.k);
      for (let j = 0; j < g.k; j++) data[j] = g.data[j]?.subarray(0, g.dataLen[j]);
      const parity: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(g.m);
      for (let i = 0; i < g.m; i++) parity[i] = g.parity[i]?.subarray(0, g.symbolBytes);
      const r = reconstruct(data, parity, g.symbolBytes, this.mul);
      if (r === undefined) return;
      for (let t = 0; t < r.indices.length; t++) {
        const s = r.symbols[t]!;
        const len = s[0]! | (s[1]! << 8);
        if (FEC_SYMBOL_LEN_BYTES + len > s.byteLength) {
          this.stats.badFrames++; // a sender that coded garbage: drop what is left of the group
          continue;
        }
        this.stats.repaired++;
        this.deliver(s.subarray(FEC_SYMBOL_LEN_BYTES, FEC_SYMBOL_LEN_BYTES + len), true);
      }
      g.dataCount = g.k;
    }
    if (g.dataCount >= g.k) {
      g.done = true;
      this.release(g);
    }
  }
}
