// Reliable control messages over lossy UDP (PROTOCOL.md "Control messages"): a sender that
// numbers messages, retransmits with backoff until the seq is acked, and gives up after a deadline;
// and a receiver-side dedup of recent seqs. Used by the hub (MAP, PUNCH) and the hub client.
import type { Clock, TimerHandle } from '../util/clock.js';

/** Local tuning: first retransmit after 500 ms (a few RTTs on the internet), doubling. */
export const reliableFirstRetryMs = 500;
export const reliableMaxRetryMs = 8_000;
/** Local tuning: give up after this many sends (~15 s); the map repair covers what is lost. */
export const reliableMaxSends = 6;

interface Pending {
  send: () => void;
  sends: number;
  timer: TimerHandle;
  onGiveUp: (() => void) | undefined;
  onSettled: (() => void) | undefined;
}

export class ReliableSender {
  private seq: number;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly clock: Clock,
    firstSeq = 1,
    /** Messages pending at once; track() refuses more (a member flooding requests cannot grow it). */
    private readonly maxPending = Infinity,
  ) {
    this.seq = firstSeq >>> 0 || 1;
  }

  /** The next seq to put in a message (never 0: 0 marks unnumbered messages in logs). */
  nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) >>> 0 || 1;
    return s;
  }

  /** Sends now (via `send`) and again with backoff until ack(seq) or give-up; `onSettled` runs
   * once when it leaves (acked, given up or cancelled). False (nothing sent, no callback) when
   * `maxPending` messages are already pending. */
  track(seq: number, send: () => void, onGiveUp?: () => void, onSettled?: () => void): boolean {
    this.cancel(seq);
    if (this.pending.size >= this.maxPending) return false;
    const p: Pending = { send, sends: 0, timer: undefined, onGiveUp, onSettled };
    this.pending.set(seq, p);
    this.fire(seq, p);
    return true;
  }

  private fire(seq: number, p: Pending): void {
    if (p.sends >= reliableMaxSends) {
      this.pending.delete(seq);
      p.onGiveUp?.();
      p.onSettled?.();
      return;
    }
    p.sends++;
    p.send();
    const delay = Math.min(reliableFirstRetryMs * 2 ** (p.sends - 1), reliableMaxRetryMs);
    p.timer = this.clock.setTimer(delay, () => this.fire(seq, p));
  }

  /** True when `seq` was pending. */
  ack(seq: number): boolean {
    const p = this.pending.get(seq);
    if (!p) return false;
    this.clock.clearTimer(p.timer);
    this.pending.delete(seq);
    p.onSettled?.();
    return true;
  }

  cancel(seq: number): void {
    this.ack(seq);
  }

  cancelAll(): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      this.clock.clearTimer(p.timer);
      p.onSettled?.();
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }
}

/** Remembers the last `size` seqs seen from one sender, so a retransmission is acked but not redone. */
export class SeqDedup {
  private readonly seen = new Set<number>();
  private readonly order: number[] = [];
  constructor(private readonly size = 128) {}

  /** True the first time a seq is seen. */
  first(seq: number): boolean {
    if (this.seen.has(seq)) return false;
    this.seen.add(seq);
    this.order.push(seq);
    if (this.order.length > this.size) this.seen.delete(this.order.shift()!);
    return true;
  }
}
