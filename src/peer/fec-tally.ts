// The receiver's loss reading while FEC is on (fec-pair.ts): each group's frames say how many shards
// were sent (a PARITY carries k and m), so the shards that arrived, counted per group, give the
// path's raw loss and loss runs, before repair. Windows of judged shards are smoothed by an EWMA and
// reported to the sender (fec/frame.ts REPORT), whose policy (fec/policy.ts) sizes the parity. Pure.
import { FecOp, type FecFrame } from '../fec/frame.js';
import type { LossEstimate } from '../fec/loss-estimator.js';

/** Groups tracked at once (local tuning: parity follows a group's data within flushMs, so only a
 * few groups are ever open; more only covers reordering). */
export const tallyGroups = 16;
/** A window closes after this many shards were judged (local tuning: 0.5 % resolution)... */
export const tallyWindowShards = 200;
/** ...or after this long with at least tallyMinShards judged, so slow flows still report. */
export const tallyWindowMs = 1000;
const tallyMinShards = 20;
/** EWMA weight of a new window (local tuning: about 3 windows of memory). */
const alpha = 0.3;

interface Tallied {
  n: number; // k + m once a PARITY said, else 0
  k: number;
  got: Uint8Array; // 1 per position: data 0..k-1, parity k..k+m-1 (256 covers both index spaces)
}

export class GroupTally {
  private readonly groups = new Map<number, Tallied>(); // insertion order = age
  /** The last judged group's record, for the next group: a record per group lived 16 groups, long
   * enough for V8 to promote it, and a loaded receiver made ~1,400 a second (issue 19 session 16). */
  private spare: Tallied | undefined;
  private judged = 0;
  private lost = 0;
  private runs = 0;
  private windowStart: number | undefined;
  private est: LossEstimate = { loss: 0, burst: 1, windows: 0 };
  /** Shards the last closed window rested on (the REPORT's `window`). */
  lastWindow = 0;

  get estimate(): LossEstimate {
    return this.est;
  }

  /** One DATA or PARITY frame arrived (decoded by the caller). True when a window just closed. */
  observe(f: FecFrame, now: number): boolean {
    if (f.op === FecOp.REPORT) return false;
    this.windowStart ??= now;
    let g = this.groups.get(f.group);
    if (g === undefined) {
      if (this.groups.size >= tallyGroups) this.judgeOldest();
      g = this.spare ?? { n: 0, k: 0, got: new Uint8Array(256) };
      this.spare = undefined;
      this.groups.set(f.group, g);
    }
    if (f.op === FecOp.PARITY) {
      g.k = f.k;
      g.n = f.k + f.m;
      g.got[128 + f.index] = 1;
    } else g.got[f.index] = 1;
    return this.maybeClose(now);
  }

  /** The oldest group leaves: its missing positions count as lost (one run per gap). A group whose
   * parity never arrived cannot be judged (its size is unknown): skipped. */
  private judgeOldest(): void {
    const [id, g] = this.groups.entries().next().value as [number, Tallied];
    this.groups.delete(id);
    let prevLost = false;
    for (let i = 0; i < g.n; i++) {
      const arrived = i < g.k ? g.got[i] === 1 : g.got[128 + i - g.k] === 1;
      this.judged++;
      if (arrived) prevLost = false;
      else {
        this.lost++;
        if (!prevLost) this.runs++;
        prevLost = true;
      }
    }
    g.n = 0;
    g.k = 0;
    g.got.fill(0);
    this.spare = g;
  }

  private maybeClose(now: number): boolean {
    const timed = now - this.windowStart! >= tallyWindowMs && this.judged >= tallyMinShards;
    if (this.judged < tallyWindowShards && !timed) return false;
    const loss = this.lost / this.judged;
    const first = this.est.windows === 0;
    let burst = this.est.burst;
    if (this.runs > 0) burst = first ? this.lost / this.runs : burst + alpha * (this.lost / this.runs - burst);
    this.est = { loss: first ? loss : this.est.loss + alpha * (loss - this.est.loss), burst, windows: this.est.windows + 1 };
    this.lastWindow = this.judged;
    this.judged = this.lost = this.runs = 0;
    this.windowStart = now;
    return true;
  }
}
