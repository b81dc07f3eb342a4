// A deterministic two-endpoint link on virtual time for ARQ tests and benches: per-direction loss,
// duplication, delay with jitter (which reorders), an optional FIFO mode (test.cpp's simulator:
// no overtaking) and a bandwidth cap with a drop-tail queue. Same seed, same run.
import { Rng } from './rng.js';

export interface LinkConfig {
  /** Probability each datagram is dropped, per direction. */
  loss?: number;
  /** Probability a delivered datagram is delivered twice. */
  duplicate?: number;
  /** Base one-way delay (ms). */
  delayMs?: number;
  /** Extra uniformly random delay in [0, jitterMs) (ms); reorders unless fifo. */
  jitterMs?: number;
  /** Deliver in send order even if a later datagram's delay is shorter (head-of-line). */
  fifo?: boolean;
  /** Bytes per ms (e.g. 12_500 = 100 Mbit/s); 0 or absent = unlimited. */
  bytesPerMs?: number;
  /** Max datagrams waiting in one direction; more are dropped (tail drop). */
  queueLimit?: number;
}

interface Packet {
  at: number;
  seq: number;
  data: Uint8Array;
}

export interface DirectionStats {
  sent: number;
  lost: number;
  duplicated: number;
  queueDrops: number;
  delivered: number;
  bytes: number;
}

/** One direction of the link. */
export class LinkDirection {
  readonly stats: DirectionStats = { sent: 0, lost: 0, duplicated: 0, queueDrops: 0, delivered: 0, bytes: 0 };
  private queue: Packet[] = [];
  private seq = 0;
  private busyUntil = 0;
  private lastAt = 0;

  constructor(
    private readonly cfg: LinkConfig,
    private readonly rng: Rng,
  ) {}

  get inFlight(): number {
    return this.queue.length;
  }

  /** Accepts a datagram at time now (copies it). */
  send(now: number, data: Uint8Array, len = data.length): void {
    this.stats.sent++;
    if (this.cfg.queueLimit !== undefined && this.queue.length >= this.cfg.queueLimit) {
      this.stats.queueDrops++;
      return;
    }
    if (this.rng.chance(this.cfg.loss ?? 0)) {
      this.stats.lost++;
      return;
    }
    let depart = now;
    const bw = this.cfg.bytesPerMs ?? 0;
    if (bw > 0) {
      depart = Math.max(now, this.busyUntil) + len / bw;
      this.busyUntil = depart;
    }
    const copies = this.rng.chance(this.cfg.duplicate ?? 0) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      let at = depart + (this.cfg.delayMs ?? 0) + this.rng.next() * (this.cfg.jitterMs ?? 0);
      if (this.cfg.fifo) at = Math.max(at, this.lastAt);
      this.lastAt = Math.max(this.lastAt, at);
      this.insert({ at, seq: this.seq++, data: data.slice(0, len) });
    }
  }

  /** Time of the next delivery, or undefined. */
  nextAt(): number | undefined {
    return this.queue[0]?.at;
  }

  /** Hands every datagram due by now to fn, in delivery order. */
  deliver(now: number, fn: (data: Uint8Array) => void): void {
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const p = this.queue.shift()!;
      this.stats.delivered++;
      this.stats.bytes += p.data.length;
      fn(p.data);
    }
  }

  private insert(p: Packet): void {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.at < p.at || (q.at === p.at && q.seq < p.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, p);
  }
}

/** A symmetric link: `ab` carries A's datagrams to B, `ba` the reverse. */
export class LinkSim {
  readonly ab: LinkDirection;
  readonly ba: LinkDirection;
  constructor(cfg: LinkConfig, seed: number, cfgBa: LinkConfig = cfg) {
    this.ab = new LinkDirection(cfg, new Rng(seed));
    this.ba = new LinkDirection(cfgBa, new Rng(seed ^ 0x5bd1e995));
  }
}
