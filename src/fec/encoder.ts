// The sending half of FEC (fec/frame.ts, fec/rs.ts), a pure state machine on an injected `now`: each
// outgoing inner message leaves at once as a DATA frame (no packet is held), and the group's parity
// is coded in one pass over the frames' symbols, in place, when the group has k shards or its flush
// deadline passes, so a lost packet of a slow, interactive flow is still repaired within flushMs of
// the group's first packet. Used by the data path per remote peer and session.
import { FEC_DATA_HEADER_BYTES, FEC_MAX_SHARD_BYTES, FEC_PARITY_HEADER_BYTES, FEC_SYMBOL_LEN_BYTES, writeDataHeader, writeParityHeader } from './frame.js';
import { parityMatrix, RS_MAX_DATA, RS_MAX_PARITY, tsShardMul, type ShardMul } from './rs.js';

/** Parity capacity a new encoder starts with (local tuning: an MTU-sized shard fits, bigger grow). */
const initialShardBytes = 1500;


export interface FecShape {
  /** Data shards per full group, 1..128. */
  readonly k: number;
  /** Parity shards per full group, 0..128; 0 turns FEC off (shards leave unframed). */
  readonly m: number;
  /** How long after a group's first shard its parity leaves even if the group is not full. */
  readonly flushMs: number;
}

export interface FecEncoderOptions extends FecShape {
  /** Receives each PARITY frame. The bytes are reused after it returns: seal or copy them inside. */
  readonly emit: (frame: Uint8Array) => void;
  readonly mul?: ShardMul;
  /** The first group id (tests start near the u32 wrap). */
  readonly firstGroup?: number;
}

export interface FecEncoderStats {
  dataFrames: number;
  parityFrames: number;
  /** Bytes FEC added: DATA headers plus whole PARITY frames. */
  overheadBytes: number;
  groups: number;
  /** Groups closed by the deadline before reaching k. */
  partialGroups: number;
}

/** Parity for a group that closed with `n` of `k` shards: m scaled down, at least one. */
export function partialParity(n: number, k: number, m: number): number {
  return Math.min(m, Math.max(1, Math.ceil((m * n) / k)));
}

export class FecEncoder {
  readonly stats: FecEncoderStats = { dataFrames: 0, parityFrames: 0, overheadBytes: 0, groups: 0, partialGroups: 0 };
  private shape: FecShape;
  private readonly emit: (frame: Uint8Array) => void;
  private readonly mul: ShardMul;
  private group = 0; // id of the open group (or the next one)
  private count = 0; // shards in the open group; 0: none open
  private groupK = 0;
  private groupM = 0;
  private maxLen = 0; // longest shard of the open group
  private openedAt = 0;
  private frames: Uint8Array[] = []; // m parity frame buffers, reused: header, then the symbol
  private readonly symbols: Uint8Array[] = []; // the open group's data symbols: views into its frames
  /** send()'s DATA frame buffers, one per index of a group, reused group after group: no ArrayBuffer
   * per packet (the frame of index i is read again only when its group closes, before the next
   * group's index i is written). */
  private readonly ring: Uint8Array[] = [];

  constructor(opts: FecEncoderOptions) {
    this.emit = opts.emit;
    this.mul = opts.mul ?? tsShardMul;
    this.shape = checkShape(opts);
    this.group = (opts.firstGroup ?? 0) >>> 0;
  }

  /** True when FEC is on (m > 0). */
  get active(): boolean {
    return this.shape.m > 0;
  }

  get currentShape(): FecShape {
    return this.shape;
  }

  /** A new shape from the next group on; an open group whose shape differs closes now (its parity leaves). */
  setShape(s: FecShape, now: number): void {
    const next = checkShape(s);
    if (this.count > 0 && (next.k !== this.groupK || next.m !== this.groupM)) this.close(now);
    this.shape = next;
  }

  /** Frames `shard` (an inner message) as DATA and returns the frame to send now; the shard itself
   * when FEC is off. The shard is copied once, into a frame of the encoder's ring: the frame is
   * valid until the next send (seal or copy it at once, as the data path does). */
  send(shard: Uint8Array, now: number): Uint8Array {
    if (!this.active) return shard;
    const len = shard.byteLength;
    if (len > FEC_MAX_SHARD_BYTES) throw new RangeError('fec: shard too long');
    this.poll(now); // may close the open group: the index below is the one sendInPlace will use
    const frame = ringFrame(this.ring, this.count, FEC_DATA_HEADER_BYTES + len);
    frame.set(shard, FEC_DATA_HEADER_BYTES);
    this.sendInPlace(frame, now);
    return frame;
  }

  /** As send, without the copy: `frame` holds the shard at FEC_DATA_HEADER_BYTES (the data path
   * reserved the headroom) and gets its header written. Only while active. The encoder reads the
   * frame again when the group closes (k shards or flushMs later): do not reuse it before then. */
  sendInPlace(frame: Uint8Array, now: number): void {
    const len = frame.byteLength - FEC_DATA_HEADER_BYTES;
    if (!this.active || len < 0 || len > FEC_MAX_SHARD_BYTES) throw new RangeError('fec: sendInPlace while off or with a bad frame');
    this.poll(now);
    if (this.count === 0) this.open(now);
    const index = this.count++;
    writeDataHeader(frame, this.group, index, len);
    this.symbols.push(frame.subarray(FEC_DATA_HEADER_BYTES - FEC_SYMBOL_LEN_BYTES));
    if (len > this.maxLen) this.maxLen = len;
    this.stats.dataFrames++;
    this.stats.overheadBytes += FEC_DATA_HEADER_BYTES;
    if (this.count === this.groupK) this.close(now);
  }

  /** Sends the parity of a group whose deadline has passed. Call at deadline(). */
  poll(now: number): void {
    if (this.count > 0 && now >= this.openedAt + this.shape.flushMs) this.close(now);
  }

  /** When poll must next run (monotonic ms), or undefined when no group is open. */
  deadline(): number | undefined {
    return this.count > 0 ? this.openedAt + this.shape.flushMs : undefined;
  }

  private open(now: number): void {
    this.groupK = this.shape.k;
    this.groupM = this.shape.m;
    this.openedAt = now;
    this.maxLen = 0;
    this.symbols.length = 0;
  }

  /** The m parity frame buffers, at least `bytes` long each (grown for shards past an MTU). */
  private parityFrames(m: number, bytes: number): Uint8Array[] {
    const cap = this.frames[0]?.byteLength ?? 0;
    if (this.frames.length < m || cap < bytes) {
      const size = Math.max(bytes, cap, FEC_PARITY_HEADER_BYTES + FEC_SYMBOL_LEN_BYTES + initialShardBytes);
      this.frames = Array.from({ length: Math.max(m, this.frames.length) }, () => new Uint8Array(size));
    }
    return this.frames;
  }

  private close(_now: number): void {
    const n = this.count;
    const m = n === this.groupK ? this.groupM : partialParity(n, this.groupK, this.groupM);
    if (n < this.groupK) this.stats.partialGroups++;
    const bytes = FEC_PARITY_HEADER_BYTES + FEC_SYMBOL_LEN_BYTES + this.maxLen;
    const frames = this.parityFrames(m, bytes).slice(0, m).map((f) => f.subarray(0, bytes));
    this.mul.mulShards(parityMatrix(n, m), this.symbols, frames.map((f) => f.subarray(FEC_PARITY_HEADER_BYTES)));
    this.symbols.length = 0;
    for (let i = 0; i < m; i++) {
      const f = frames[i]!;
      writeParityHeader(f, this.group, i, n, m);
      this.emit(f);
      this.stats.parityFrames++;
      this.stats.overheadBytes += bytes;
    }
    this.stats.groups++;
    this.count = 0;
    this.group = (this.group + 1) >>> 0;
  }
}

/** Slot `i` of the ring as a frame of `bytes`, the slot grown (kept for later groups) when short. */
export function ringFrame(ring: Uint8Array[], i: number, bytes: number): Uint8Array {
  let slot = ring[i];
  if (slot === undefined || slot.byteLength < bytes) {
    slot = new Uint8Array(Math.max(bytes, FEC_DATA_HEADER_BYTES + initialShardBytes));
    ring[i] = slot;
  }
  return slot.subarray(0, bytes);
}

function checkShape(s: FecShape): FecShape {
  const ok = Number.isInteger(s.k) && Number.isInteger(s.m) && s.k >= 1 && s.k <= RS_MAX_DATA && s.m >= 0 && s.m <= RS_MAX_PARITY;
  if (!ok || !(s.flushMs >= 0)) throw new RangeError(`fec: bad shape k=${s.k} m=${s.m} flushMs=${s.flushMs}`);
  return { k: s.k, m: s.m, flushMs: s.flushMs };
}
