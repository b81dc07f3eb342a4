// A global budget for bytes buffered in published-service streams (KCP send and receive queues),
// one per hub and one per peer. Each KcpStream charges what it holds; past the limit new writes are
// refused (the source socket pauses) and the stalled streams holding the most are reset, so slow
// readers cannot make the process buffer without bound. Used by kcp-stream.ts, created by
// hub-publisher.ts and service-manager.ts.
import type { Clock } from '../util/clock.js';

/** Local tuning: default budget. One stalled stream holds at most ~2 MB (window + high water),
 * so 64 MB lets ~30 stalled streams run at full window before the largest are closed. */
export const defaultStreamBudgetBytes = 64 * 1024 * 1024;

export interface BudgetEntry {
  id: number;
  bytes: number;
  /** Its reader is slow: delivery paused, or its writer was told to stop. */
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
  readonly stalled: boolean;
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
    if (this.over) {
      const byConv = new Map<number, BudgetMember>();
      const entries: BudgetEntry[] = [];
      let id = 0;
      for (const m of this.members) {
        byConv.set(id, m);
        entries.push({ id: id++, bytes: m.chargedBytes, stalled: m.stalled });
      }
      for (const v of pickVictims(entries, this.totalBytes, this.limitBytes)) {
        const m = byConv.get(v)!;
        this.counters.resets++;
        m.reset(`buffer budget exceeded (${Math.round(this.limitBytes / 1048576)} MB): slow reader`);
      }
    }
    if (!this.over && this.wasOver) {
      this.wasOver = false;
      for (const m of [...this.members]) m.budgetFreed();
    }
  }
}
