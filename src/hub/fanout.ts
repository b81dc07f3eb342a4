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
}

/** A flush's fan-out in progress. */
export class Fanout {
  private members = 0;
  private unsent = 0;
  private left = 0;
  private unfinished = 0;
  private sentMs: number;
  private reported = false;

  constructor(
    readonly version: number,
    private readonly changedMs: number,
    private readonly flushMs: number,
    private readonly report: (r: FanoutReport) => void,
  ) {
    this.sentMs = flushMs;
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
    this.report({
      version: this.version, members: this.members, waitedMs: this.flushMs - this.changedMs, sentMs: this.sentMs - this.changedMs,
      deliveredMs: nowMs - this.changedMs, unfinished: this.unfinished,
    });
  }
}
