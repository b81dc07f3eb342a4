// One token bucket: `ratePerSec` tokens a second up to `burst`, starting full. Pure: every call
// takes `now` (monotonic ms); a clock that goes back refills nothing. Used by the link's limiters,
// the hub's relay and control budgets, and the published ports' visitor gate.

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

  /** Tokens available now (what a take at nowMs would see). */
  level(nowMs: number): number {
    return Math.min(this.burst, this.tokens + (Math.max(0, nowMs - this.lastMs) / 1000) * this.ratePerSec);
  }

  /** True when the bucket is full again (the keyed limiter forgets such buckets). */
  idle(nowMs: number): boolean {
    return this.tokens + ((nowMs - this.lastMs) / 1000) * this.ratePerSec >= this.burst;
  }
}
