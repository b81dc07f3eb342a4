// DEPARTURE 12's memory (kcp.ts): the ACKs a receiver sent lately, repeated in its next flushes
// while they still say more than una, so a lost ACK datagram no longer makes the sender resend a
// segment that arrived. Pure (sn, ts, u32 ms in; what to repeat out); kcp.ts writes the headers.
import { seqDiff } from './seq.js';

/**
 * Local tuning (receiver only; the wire is the reference's). Each ACK rides in its own flush and in
 * up to `repeats` later ones no more than `windowMs` after it was first sent (an echo's RTT sample,
 * taken only when the first copy was lost, is late by at most that). `capacity` bounds the memory
 * and the echoes one flush writes (about one datagram of ACKs: 1400 / 24 bytes).
 */
export interface AckEchoConfig {
  capacity: number;
  repeats: number;
  windowMs: number;
}

/**
 * Issue 19, session 10: two repeats of up to 64 (session 9's relay at 5 % loss still sent ~1 % of its
 * budget again after lost ACKs with one repeat of at most 8: a busy receiver's batch acks more).
 */
export const ackEchoDefaults: AckEchoConfig = { capacity: 64, repeats: 2, windowMs: 10 };

export class AckEcho {
  private readonly sn: Uint32Array;
  private readonly ts: Uint32Array;
  private readonly at: Uint32Array;
  private readonly left: Uint8Array;
  /** Entries [0, count) in the order first sent. */
  private count = 0;

  constructor(readonly cfg: AckEchoConfig = ackEchoDefaults) {
    const n = cfg.capacity;
    this.sn = new Uint32Array(n);
    this.ts = new Uint32Array(n);
    this.at = new Uint32Array(n);
    this.left = new Uint8Array(n);
  }

  /** ACKs remembered (for tests). */
  get size(): number {
    return this.count;
  }

  /**
   * The ACKs to repeat in the flush at `current` (u32 ms) whose una is `una`, written oldest first to
   * outSn/outTs (each of length >= capacity); returns how many. Those acked by una, older than the
   * window or repeated enough are forgotten.
   */
  take(current: number, una: number, outSn: Uint32Array, outTs: Uint32Array): number {
    const w = this.cfg.windowMs;
    let n = 0;
    let keep = 0;
    for (let i = 0; i < this.count; i++) {
      const sn = this.sn[i]!;
      if (seqDiff(sn, una) < 0 || seqDiff(current, this.at[i]!) > w || this.left[i]! === 0) continue;
      outSn[n] = sn;
      outTs[n] = this.ts[i]!;
      n++;
      const left = this.left[i]! - 1;
      if (left === 0) continue;
      this.sn[keep] = sn;
      this.ts[keep] = this.ts[i]!;
      this.at[keep] = this.at[i]!;
      this.left[keep] = left;
      keep++;
    }
    this.count = keep;
    return n;
  }

  /**
   * Remembers the ACKs this flush sent fresh, [0, count) of sns/tss, at `current`. Those below una say
   * nothing una does not; past capacity the oldest (remembered or fresh) go first.
   */
  remember(sns: Uint32Array, tss: Uint32Array, count: number, current: number, una: number): void {
    if (this.cfg.repeats <= 0) return;
    const cap = this.cfg.capacity;
    let fresh = 0;
    for (let i = 0; i < count; i++) if (seqDiff(sns[i]!, una) >= 0) fresh++;
    if (fresh === 0) return;
    // Past capacity the oldest go first, in one move.
    const over = this.count + fresh - cap;
    if (over > 0) {
      const drop = over < this.count ? over : this.count;
      this.sn.copyWithin(0, drop, this.count);
      this.ts.copyWithin(0, drop, this.count);
      this.at.copyWithin(0, drop, this.count);
      this.left.copyWithin(0, drop, this.count);
      this.count -= drop;
    }
    let skip = fresh > cap ? fresh - cap : 0;
    for (let i = 0; i < count; i++) {
      const sn = sns[i]!;
      if (seqDiff(sn, una) < 0) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      const j = this.count++;
      this.sn[j] = sn;
      this.ts[j] = tss[i]!;
      this.at[j] = current;
      this.left[j] = this.cfg.repeats;
    }
  }
}
