// Per-sender shaping for the hub's relay (issue 19 item 6): each sender has a token bucket at its
// budget and a short FIFO (hub/relay-queue.ts sizes it). A datagram within the budget leaves at
// once; one over it waits in the FIFO and a timer on the injected clock lets it out when the bucket
// has refilled; only a full FIFO drops. Used by hub/relay.ts; knows nothing of members or the wire.
import type { Clock, TimerHandle } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';
import { ByteFifo, relayDrainDelayMs, relayItemCost, relayQueueAdmits, relayQueueCapBytes, relayQueueTotalBytes } from './relay-queue.js';

export type ShapeVerdict = 'sent' | 'queued' | 'full';

interface Queued<T> {
  item: T;
  bytes: number;
}

interface Lane<T> {
  bucket: TokenBucket;
  fifo: ByteFifo<Queued<T>>;
}

export interface RelayShaperOptions<T> {
  bytesPerSec: number;
  burstBytes: number;
  /** Needed to queue (offer); takeNow alone needs neither clock nor emit. */
  clock?: Clock;
  /** Called for each item that leaves, now or from the drain timer. Must not throw. */
  emit?: (item: T) => void;
  /** Per-sender FIFO cap in bytes (default relayQueueCapBytes(bytesPerSec)). */
  capBytes?: number;
  /** All FIFOs together (default relayQueueTotalBytes). */
  totalCapBytes?: number;
  /** Full, empty lanes are forgotten at most this often (default 1 s). */
  sweepIntervalMs?: number;
}

export class RelayShaper<T> {
  private readonly lanes = new Map<string, Lane<T>>();
  /** Keys whose FIFO is not empty. */
  private readonly backlogged = new Set<string>();
  private readonly capBytes: number;
  private readonly totalCapBytes: number;
  private readonly sweepIntervalMs: number;
  private lastSweepMs = -Infinity;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private closed = false;
  /** Bytes (with per-item overhead) queued in all FIFOs now, and the most ever. */
  queuedBytes = 0;
  peakQueuedBytes = 0;
  /** Items that waited in a FIFO before leaving. */
  delayed = 0;

  constructor(private readonly o: RelayShaperOptions<T>) {
    this.capBytes = o.capBytes ?? relayQueueCapBytes(o.bytesPerSec);
    this.totalCapBytes = o.totalCapBytes ?? relayQueueTotalBytes;
    this.sweepIntervalMs = o.sweepIntervalMs ?? 1_000;
  }

  /** Senders with state (a FIFO or a bucket not yet full). */
  get size(): number {
    return this.lanes.size;
  }

  /** Policing: true when `key` has nothing queued and its bucket pays `bytes` now. */
  takeNow(key: string, bytes: number, nowMs: number): boolean {
    const lane = this.lane(key, nowMs);
    return lane.fifo.length === 0 && lane.bucket.take(nowMs, bytes);
  }

  /** Shaping: the item `make` builds (only if it is not refused) leaves now (emit), waits behind
   * the key's earlier items, or is refused (FIFO full). */
  offer(key: string, bytes: number, make: () => T, nowMs: number): ShapeVerdict {
    const lane = this.lane(key, nowMs);
    if (lane.fifo.length > 0) this.drainLane(key, lane, nowMs);
    if (lane.fifo.length === 0 && lane.bucket.take(nowMs, bytes)) {
      this.o.emit!(make());
      return 'sent';
    }
    const cost = relayItemCost(bytes);
    if (this.closed || !relayQueueAdmits(lane.fifo.bytes, cost, this.capBytes, this.queuedBytes, this.totalCapBytes)) return 'full';
    lane.fifo.push({ item: make(), bytes }, cost);
    this.queuedBytes += cost;
    if (this.queuedBytes > this.peakQueuedBytes) this.peakQueuedBytes = this.queuedBytes;
    this.backlogged.add(key);
    this.arm(nowMs + relayDrainDelayMs(lane.bucket.level(nowMs), lane.fifo.peek()!.bytes, this.o.bytesPerSec));
    return 'queued';
  }

  /** Drops everything queued and stops the timer. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.o.clock!.clearTimer(this.timer);
    this.timer = undefined;
    for (const lane of this.lanes.values()) lane.fifo.clear();
    this.backlogged.clear();
    this.queuedBytes = 0;
  }

  private lane(key: string, nowMs: number): Lane<T> {
    if (nowMs - this.lastSweepMs >= this.sweepIntervalMs) this.sweep(nowMs);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { bucket: new TokenBucket(this.o.bytesPerSec, this.o.burstBytes, nowMs), fifo: new ByteFifo() };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** Forgets lanes with nothing queued and a full bucket (a new lane behaves the same). */
  private sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const [k, lane] of this.lanes) if (lane.fifo.length === 0 && lane.bucket.idle(nowMs)) this.lanes.delete(k);
  }

  /** Lets out the head items the bucket pays for now; the delay until the next one may leave. */
  private drainLane(key: string, lane: Lane<T>, nowMs: number): number {
    for (;;) {
      const head = lane.fifo.peek();
      if (head === undefined) {
        this.backlogged.delete(key);
        return Infinity;
      }
      if (!lane.bucket.take(nowMs, head.bytes)) return relayDrainDelayMs(lane.bucket.level(nowMs), head.bytes, this.o.bytesPerSec);
      const cost = relayItemCost(head.bytes);
      lane.fifo.shift(cost);
      this.queuedBytes -= cost;
      this.delayed++;
      this.o.emit!(head.item);
    }
  }

  private arm(atMs: number): void {
    if (this.closed || atMs >= this.timerAt || atMs === Infinity) return;
    const clock = this.o.clock!;
    if (this.timer !== undefined) clock.clearTimer(this.timer);
    this.timerAt = atMs;
    this.timer = clock.setTimer(Math.max(0, atMs - clock.now()), () => this.onTimer());
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.closed) return;
    const now = this.o.clock!.now();
    let next = Infinity;
    for (const key of this.backlogged) {
      const lane = this.lanes.get(key);
      if (!lane) {
        this.backlogged.delete(key);
        continue;
      }
      next = Math.min(next, this.drainLane(key, lane, now));
    }
    this.arm(now + next);
  }
}
