// One flush's fan-out (hub/map-sender.ts): the maps the flush queued, when the last of them was sent
// and when the last was acked or dropped; reported once, when every one of them is finished. The
// daemon logs the report ('hub: map change delivered') and the load tool times changes with it.

/** What one flush's fan-out took, for the operator (logged by the daemon) and the load tool. */
export interface FanoutReport {
  version: number;
  /** Members the flush queued a map for. */
  members: number;
  /** From the first change to the flush (the coalescing window, or the spacing after a long flush). */
  waitedMs: number;
  /** From the first change until the last of those maps was sent, and until the last was acked. */
  sentMs: number;
  deliveredMs: number;
  /** Maps of this flush superseded by a newer one, given up or whose member left before the ACK. */
  unfinished: number;
  /** The hub's MAP pump from the flush until this report (all members' parts, not only
   * this flush's): how often it ran, its CPU-ish time running, and how long it waited for its turn
   * of the event loop after asking for one (the loop busy elsewhere, or the process not on a CPU). */
  pump?: PumpTotals;
}

/** Cumulative counts of the MAP pump (hub/map-sender.ts); a fan-out reports their difference. */
export interface PumpTotals {
  slices: number;
  parts: number;
  busyMs: number;
  waitMs: number;
  /** Slices that stopped at the hub-wide in-flight limit (the rest: time slice, or nothing left). */
  inflightStops: number;
}

/** b - a, rounded for a log line (pure). */
export function pumpSince(a: PumpTotals, b: PumpTotals): PumpTotals {
  const r = (x: number) => Math.round(x * 10) / 10;
  return { slices: b.slices - a.slices, parts: b.parts - a.parts, busyMs: r(b.busyMs - a.busyMs), waitMs: r(b.waitMs - a.waitMs), inflightStops: b.inflightStops - a.inflightStops };
}

/** A flush's fan-out in progress. */
export class Fanout {
  private members = 0;
  private unsent = 0;
  private left = 0;
  private unfinished = 0;
  private sentMs: number;
  private reported = false;
  private readonly pumpAtFlush: PumpTotals | undefined;

  constructor(
    readonly version: number,
    private readonly changedMs: number,
    private readonly flushMs: number,
    private readonly report: (r: FanoutReport) => void,
    private readonly pumpTotals?: () => PumpTotals,
  ) {
    this.sentMs = flushMs;
    this.pumpAtFlush = pumpTotals?.();
  }

  /** The flush queued one more map. */
  add(): void {
    this.members++;
    this.unsent++;
    this.left++;
  }

  /** One of its maps is sent in full (or will not be sent any more). */
  sent(nowMs: number): void {
    if (--this.unsent === 0) this.sentMs = nowMs;
  }

  /** One of its maps is finished: acked, or not (superseded, given up, member gone). The last one
   * reports the fan-out. */
  finished(nowMs: number, acked: boolean): void {
    this.left--;
    if (!acked) this.unfinished++;
    if (this.left !== 0 || this.reported) return;
    this.reported = true;
    const pump = this.pumpAtFlush && this.pumpTotals ? pumpSince(this.pumpAtFlush, this.pumpTotals()) : undefined;
    this.report({
      version: this.version, members: this.members, waitedMs: this.flushMs - this.changedMs, sentMs: this.sentMs - this.changedMs,
      deliveredMs: nowMs - this.changedMs, unfinished: this.unfinished, ...(pump ? { pump } : {}),
    });
  }
}
