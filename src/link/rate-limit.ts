// Keyed token buckets (util/token-bucket.ts): the link's per-source (per-IP under load) limit on handshake initiations, its
// per-IP limit on HUB_KEY_REQ, its "under load" gauge for cookie replies, and the hub's per-peer
// relay budget. Pure: every call takes `now` (monotonic ms).
import { TokenBucket } from '../util/token-bucket.js';

export interface KeyedRateLimiterOptions {
  /** Local tuning: at most this many keys; a new key beyond it is refused (treated as "under
   * load", as the Linux WireGuard ratelimiter does at its table limit). Default: unbounded. */
  maxKeys?: number;
  /** Local tuning: full buckets are forgotten at most this often (default 1 s, wireguard-go's
   * ratelimiter garbage collection), so the cost of sweeping is O(keys) a second, not per packet. */
  sweepIntervalMs?: number;
}

/**
 * One bucket per key (a source IP, a peer). Bounded two ways: a sweep at most once per interval
 * forgets full buckets (a full bucket behaves as a new one, so forgetting it changes nothing), and
 * a hard cap refuses new keys beyond `maxKeys`. The old rule (sweep the whole table on every new key
 * once it held 4,096) cost O(table) per datagram under a flood from rotating ports: 93-96 % of a core
 * (RELIABILITY.md "Red-team findings: H2, M1, M8").
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly maxKeys: number;
  private readonly sweepIntervalMs: number;
  private lastSweepMs = -Infinity;
  /** New keys refused because the table was full (a gauge of a source-rotating flood). */
  refusedFull = 0;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    opts: KeyedRateLimiterOptions = {},
  ) {
    this.maxKeys = opts.maxKeys ?? Infinity;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 1_000;
  }

  get size(): number {
    return this.buckets.size;
  }

  take(key: string, nowMs: number, cost = 1): boolean {
    if (nowMs - this.lastSweepMs >= this.sweepIntervalMs) this.sweep(nowMs);
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) {
        this.refusedFull++;
        return false;
      }
      b = new TokenBucket(this.ratePerSec, this.burst, nowMs);
      this.buckets.set(key, b);
    }
    return b.take(nowMs, cost);
  }

  /** Forgets full buckets. Called by take() at most once per interval, and by an owner's timer. */
  sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
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
