// Token buckets: the link's per-source (per-IP under load) limit on handshake initiations, its
// "under load" gauge for cookie replies, and the hub's per-peer relay budget. Pure: every call takes
// `now` (monotonic ms).

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    /** Tokens added per second. */
    readonly ratePerSec: number,
    /** Largest burst. */
    readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** Takes `cost` tokens if available. */
  take(nowMs: number, cost = 1): boolean {
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.ratePerSec);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /** True when the bucket is full again (the keyed limiter forgets such buckets). */
  idle(nowMs: number): boolean {
    return this.tokens + ((nowMs - this.lastMs) / 1000) * this.ratePerSec >= this.burst;
  }
}

/** One bucket per key (a source endpoint, a peer), bounded: full buckets are swept. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    /** Local tuning: sweep once the map holds this many keys. */
    private readonly sweepAt = 4096,
  ) {}

  take(key: string, nowMs: number, cost = 1): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.sweepAt) this.sweep(nowMs);
      b = new TokenBucket(this.ratePerSec, this.burst, nowMs);
      this.buckets.set(key, b);
    }
    return b.take(nowMs, cost);
  }

  private sweep(nowMs: number): void {
    for (const [k, b] of this.buckets) if (b.idle(nowMs)) this.buckets.delete(k);
  }
}

/**
 * "Under load", the switch for cookie replies (src/link; WireGuard keys it on its handshake queue,
 * Node has none, so on the arrival rate): every initiation that passes mac1 takes a token from a
 * bucket of `burst` refilled at `ratePerSec`. The node is under load from the moment it runs dry
 * until `holdMs` after the last time it did (WireGuard's UnderLoadAfterTime). From idle that is
 * "more than `burst` in the first second"; sustained, "more than `ratePerSec`". A flood that keeps
 * arriving keeps it dry, so the load lasts as long as the flood plus `holdMs`.
 */
export class LoadGauge {
  private readonly bucket: TokenBucket;
  private untilMs = -Infinity;

  constructor(ratePerSec: number, burst: number, readonly holdMs: number, nowMs: number) {
    this.bucket = new TokenBucket(ratePerSec, burst, nowMs);
  }

  /** Counts one initiation; true when the node is under load (this one included). */
  note(nowMs: number): boolean {
    if (!this.bucket.take(nowMs)) this.untilMs = nowMs + this.holdMs;
    return nowMs < this.untilMs;
  }

  underLoad(nowMs: number): boolean {
    return nowMs < this.untilMs;
  }

  /** Under load from now for the hold time, whatever the rate (the DH backlog is deep). */
  hold(nowMs: number): void {
    this.untilMs = Math.max(this.untilMs, nowMs + this.holdMs);
  }
}
