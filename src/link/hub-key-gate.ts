// The hub's admission of HUB_KEY_REQ after its MAC checked (src/link/link.ts): each request is
// answered at most once (a replay cache of the requests answered within the freshness window), at
// most so often per source IP and in total. Pure: every call takes `now` (monotonic ms).
import { TokenBucket } from '../util/token-bucket.js';
import { KeyedRateLimiter } from './rate-limit.js';

export type HubKeyVerdict = 'answer' | 'replayed' | 'rate_limited';

export interface HubKeyGateOptions {
  perIpPerSec: number;
  perIpBurst: number;
  totalPerSec: number;
  totalBurst: number;
  /** Source IPs tracked at once; a new one beyond it is refused. */
  maxSources: number;
  /** How long an answered request must be remembered: twice the freshness window (a request is
   * fresh for that long around its timestamp). */
  rememberMs: number;
  /** Answered requests remembered per generation; beyond it new requests are refused until the
   * generation turns (the total rate keeps this from being reached: rate x rememberMs). */
  replayCapacity: number;
}

export class HubKeyGate {
  private readonly perIp: KeyedRateLimiter;
  private readonly total: TokenBucket;
  /** Two generations of answered requests (tags): each turns every `rememberMs`, so a tag stays
   * known at least `rememberMs` after it was answered, and the cache never needs a sweep. */
  private current = new Set<string>();
  private previous = new Set<string>();
  private generationStartMs: number;

  constructor(
    private readonly o: HubKeyGateOptions,
    nowMs: number,
  ) {
    this.perIp = new KeyedRateLimiter(o.perIpPerSec, o.perIpBurst, { maxKeys: o.maxSources });
    this.total = new TokenBucket(o.totalPerSec, o.totalBurst, nowMs);
    this.generationStartMs = nowMs;
  }

  /** Source IPs with a bucket (bounded by maxSources). */
  get sources(): number {
    return this.perIp.size;
  }

  /** Requests remembered as answered. */
  get remembered(): number {
    return this.current.size + this.previous.size;
  }

  /** A MAC-checked, fresh request from `ip` whose MAC is `tag`: answer it or not. */
  admit(ip: string, tag: string, nowMs: number): HubKeyVerdict {
    this.turn(nowMs);
    if (this.current.has(tag) || this.previous.has(tag)) return 'replayed';
    if (this.current.size >= this.o.replayCapacity) return 'rate_limited';
    if (!this.perIp.take(ip, nowMs)) return 'rate_limited';
    if (!this.total.take(nowMs)) return 'rate_limited';
    this.current.add(tag);
    return 'answer';
  }

  /** Frees idle per-IP buckets (the link's housekeeping timer; admit() also does it lazily). */
  sweep(nowMs: number): void {
    this.turn(nowMs);
    this.perIp.sweep(nowMs);
  }

  private turn(nowMs: number): void {
    if (nowMs - this.generationStartMs < this.o.rememberMs) return;
    // Two generations old (or an idle gap longer than one): nothing in `current` is fresh any more.
    this.previous = nowMs - this.generationStartMs >= 2 * this.o.rememberMs ? new Set() : this.current;
    this.current = new Set();
    this.generationStartMs = nowMs;
  }
}
