// Measures a path's loss rate and burstiness from the sequence numbers that arrive on it (the
// TRANSPORT counter, or any per-packet sequence): a packet still missing once 64 later sequence
// numbers have arrived counts as lost, so reordering within that span is not loss. Losses and loss
// runs are summed per window (windowPackets, or windowMs once anything arrived) and smoothed by an
// EWMA across windows. Pure, on an injected `now`; the receiver feeds it and reports (fec/frame.ts
// REPORT) to the sender, whose policy (fec/policy.ts) sizes the parity.
import { FecOp, type FecFrame } from './frame.js';

/** How far behind the highest sequence a packet may arrive and still not count as lost (local). */
export const reorderSpan = 64;
/** A window closes after this many packets are judged (local tuning: 0.2 % resolution per window)... */
export const defaultWindowPackets = 500;
/** ...or after this long with at least minWindowPackets judged (slow flows still get estimates). */
export const defaultWindowMs = 2000;
const minWindowPackets = 20;
/** EWMA weight of a new window (local tuning: about 4 windows of memory). */
export const defaultAlpha = 0.25;

export interface LossEstimate {
  /** Fraction of packets lost, 0..1. */
  readonly loss: number;
  /** Mean length of a run of consecutive losses (1 for isolated losses); 1 when none seen. */
  readonly burst: number;
  /** Windows folded in so far (0: no estimate yet). */
  readonly windows: number;
}

export class LossEstimator {
  private highest = -1;
  private base = 0; // the first sequence seen: nothing before it is judged
  private readonly seen = new Uint8Array(reorderSpan);
  private prevLost = false;
  private judged = 0;
  private lost = 0;
  private runs = 0;
  private windowStart: number | undefined;
  private est: LossEstimate = { loss: 0, burst: 1, windows: 0 };

  constructor(
    private readonly windowPackets = defaultWindowPackets,
    private readonly windowMs = defaultWindowMs,
    private readonly alpha = defaultAlpha,
  ) {}

  get estimate(): LossEstimate {
    return this.est;
  }

  /** One packet with sequence `seq` (a non-negative integer, increasing by one per packet sent) arrived. */
  observe(seq: number, now: number): void {
    this.windowStart ??= now;
    if (this.highest < 0) this.base = seq;
    if (seq > this.highest) {
      const from = this.highest + 1;
      // Sequences that leave the reorder span are judged: seen or lost.
      const firstOut = this.highest - reorderSpan + 1;
      const lastOut = seq - reorderSpan; // inclusive
      if (this.highest >= 0 && lastOut >= firstOut) {
        const inSpan = Math.min(lastOut, this.highest);
        for (let s = Math.max(firstOut, this.base); s <= inSpan; s++) this.judge(this.seen[s % reorderSpan] === 1);
        // Never seen at all and already out of the span: all lost, one run (a long outage).
        const beyond = lastOut - Math.max(inSpan + 1, from) + 1;
        if (beyond > 0) this.judgeRun(beyond);
      }
      const clearFrom = Math.max(from, seq - reorderSpan + 1);
      for (let s = clearFrom; s < seq; s++) this.seen[s % reorderSpan] = 0;
      this.seen[seq % reorderSpan] = 1;
      this.highest = seq;
    } else if (this.highest - seq < reorderSpan && seq >= this.base) {
      this.seen[seq % reorderSpan] = 1; // late, or a duplicate: either way not lost
    }
    this.maybeClose(now);
  }

  private judge(arrived: boolean): void {
    this.judged++;
    if (arrived) {
      this.prevLost = false;
      return;
    }
    this.lost++;
    if (!this.prevLost) this.runs++;
    this.prevLost = true;
  }

  private judgeRun(n: number): void {
    this.judged += n;
    this.lost += n;
    if (!this.prevLost) this.runs++;
    this.prevLost = true;
  }

  private maybeClose(now: number): void {
    const full = this.judged >= this.windowPackets;
    const timed = this.windowStart !== undefined && now - this.windowStart >= this.windowMs && this.judged >= minWindowPackets;
    if (!full && !timed) return;
    const loss = this.lost / this.judged;
    const first = this.est.windows === 0;
    const a = this.alpha;
    let burst = this.est.burst; // a window without losses says nothing about their runs
    if (this.runs > 0) burst = first ? this.lost / this.runs : burst + a * (this.lost / this.runs - burst);
    this.est = { loss: first ? loss : this.est.loss + a * (loss - this.est.loss), burst, windows: this.est.windows + 1 };
    this.judged = this.lost = this.runs = 0;
    this.windowStart = now;
  }
}

/** The REPORT frame (fec/frame.ts) that carries an estimate to the sender; `window` is the packets
 * the estimate rests on (saturating u16). */
export function reportOf(e: LossEstimate, window: number): FecFrame & { op: FecOp.REPORT } {
  const q = (x: number, scale: number) => Math.max(0, Math.min(0xffff, Math.round(x * scale)));
  return { op: FecOp.REPORT, window: Math.min(0xffff, Math.max(0, Math.round(window))), lossQ16: q(e.loss, 65536), burstQ8: q(e.burst, 256) };
}

/** The sender's reading of a REPORT: loss rate and mean run for fec/policy.ts chooseFec. */
export function pathLossOf(r: { lossQ16: number; burstQ8: number }): { loss: number; burst: number } {
  return { loss: r.lossQ16 / 65536, burst: Math.max(1, r.burstQ8 / 256) };
}
