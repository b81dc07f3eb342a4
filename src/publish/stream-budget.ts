// A global budget for bytes buffered in published-service streams (KCP send and receive queues),
// one per hub and one per peer. Each KcpStream charges what it holds; past the limit new writes are
// refused (the source socket pauses) and the streams with a stuck reader (delivery paused here, or a
// zero window from the other side) holding the most are reset, so slow readers cannot make the
// process buffer without bound, nor starve other streams of the budget. Used by kcp-stream.ts, created by
// hub-publisher.ts and service-manager.ts.
import type { Clock } from '../util/clock.js';

/** Local tuning: default budget. One stalled stream holds at most ~2 MB (window + high water),
 * so 64 MB lets ~30 stalled streams run at full window before the largest are closed. */
export const defaultStreamBudgetBytes = 64 * 1024 * 1024;
/** Local tuning: a reader stuck this long may be reset when over budget. A busy visitor's socket
 * pauses delivery for milliseconds at a time; a visitor that stopped reading stays paused. */
export const budgetStallMs = 5_000;
/** Local tuning: while over budget with no victim yet, look again this often. */
export const budgetRecheckMs = 1_000;

export interface BudgetEntry {
  id: number;
  bytes: number;
  /** A reader has been stuck for budgetStallMs: delivery paused here, or a zero window from the other side. */
  stalled: boolean;
}

/** Which stalled streams to reset to get `total` back under `limit`: the largest first. */
export function pickVictims(entries: readonly BudgetEntry[], total: number, limit: number): number[] {
  if (total <= limit) return [];
  const out: number[] = [];
  const stalled = entries.filter((e) => e.stalled && e.bytes > 0).sort((a, b) => b.bytes - a.bytes || a.id - b.id);
  for (const e of stalled) {
    if (total <= limit) break;
    out.push(e.id);
    total -= e.bytes;
  }
  return out;
}

/** What a stream shows the budget. */
export interface BudgetMember {
  readonly conv: number;
  readonly chargedBytes: number;
  /** Since when a reader is stuck (delivery paused, or a zero window); undefined = not stuck. */
  readonly stalledSince: number | undefined;
  /** Reset by the budget (the reason says so). */
  reset(reason: string): void;
  /** The budget has room again: a writer told to stop may resume. */
  budgetFreed(): void;
}

export class StreamBudget {
  private totalBytes = 0;
  private readonly members = new Set<BudgetMember>();
  private scheduled = false;
  private wasOver = false;
  readonly counters = { resets: 0, refusedWrites: 0 };
  /** Highest total seen (for tests and status). */
  peakBytes = 0;

  constructor(readonly limitBytes: number, private readonly clock: Clock) {}

  get bytes(): number {
    return this.totalBytes;
  }
  /** Past the limit, a stream holding at least this much may not write more (1/64 of the budget). */
  get fairShareBytes(): number {
    return Math.max(64 * 1024, Math.floor(this.limitBytes / 64));
  }
  get over(): boolean {
    return this.totalBytes > this.limitBytes;
  }

  add(m: BudgetMember): void {
    this.members.add(m);
  }
  remove(m: BudgetMember): void {
    this.members.delete(m);
  }

  /** A stream's holding changed by `delta` bytes. */
  charge(delta: number): void {
    this.totalBytes += delta;
    if (this.totalBytes > this.peakBytes) this.peakBytes = this.totalBytes;
    if (this.over) this.wasOver = true;
    if ((this.over || this.wasOver) && !this.scheduled) {
      this.scheduled = true;
      this.clock.setTimer(0, () => this.enforce());
    }
  }

  private enforce(): void {
    this.scheduled = false;
    const now = this.clock.now();
    if (this.over) {
      const byConv = new Map<number, BudgetMember>();
      const entries: BudgetEntry[] = [];
      let id = 0;
      for (const m of this.members) {
        byConv.set(id, m);
        const since = m.stalledSince;
        entries.push({ id: id++, bytes: m.chargedBytes, stalled: since !== undefined && now - since >= budgetStallMs });
      }
      for (const v of pickVictims(entries, this.totalBytes, this.limitBytes)) {
        const m = byConv.get(v)!;
        this.counters.resets++;
        m.reset(`buffer budget exceeded (${Math.round(this.limitBytes / 1048576)} MB): slow reader`);
      }
      if (this.over && !this.scheduled) {
        // Nobody stuck long enough yet: writes stay refused; look again soon (only while over).
        this.scheduled = true;
        this.clock.setTimer(budgetRecheckMs, () => this.enforce());
      }
    }
    if (!this.over && this.wasOver) {
      this.wasOver = false;
      for (const m of [...this.members]) m.budgetFreed();
    }
  }
}
