// Limits on what one member's control messages may make the hub do (issue 17 M3): a token bucket
// per member for PUNCH_REQUEST, at most one PUNCH exchange in flight per pair of members, and the
// verdict that combines them. Pure: every call takes `now` (monotonic ms). Used by hub/server.ts.
import { TokenBucket } from '../util/token-bucket.js';

/** Local policy: PUNCH_REQUESTs a member may make per second, and its burst. A peer asks once per
 * remote it starts sending to (and again when a direct path is lost), so 5/s with a burst of 20
 * covers a peer that starts talking to 20 others at once; 10,000/s grew a hub by 500 MB in 30 s. */
export const punchRequestsPerSec = 5;
export const punchRequestBurst = 20;
/** Local policy: reliable messages (PUNCH, STREAM_OPEN) pending per member; past it new ones are
 * dropped and counted. Legitimate use holds a few at a time. */
export const reliableMaxPendingPerMember = 64;

export type PunchVerdict = 'punch' | 'rate_limited' | 'in_flight';

/** What to do with a PUNCH_REQUEST (pure): an exchange for the pair already in flight is not
 * started again (and costs no token); otherwise the requester's bucket decides. */
export function punchVerdict(pairInFlight: boolean, tokenTaken: () => boolean): PunchVerdict {
  if (pairInFlight) return 'in_flight';
  return tokenTaken() ? 'punch' : 'rate_limited';
}

/** The unordered pair key of two members (a PUNCH exchange goes to both). */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** One token bucket per member, forgotten when the member leaves (so bounded by the registry). */
export class MemberBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
  ) {}

  take(id: string, nowMs: number, cost = 1): boolean {
    let b = this.buckets.get(id);
    if (!b) {
      b = new TokenBucket(this.ratePerSec, this.burst, nowMs);
      this.buckets.set(id, b);
    }
    return b.take(nowMs, cost);
  }

  forget(id: string): void {
    this.buckets.delete(id);
  }

  get size(): number {
    return this.buckets.size;
  }
}
