// The hub's relay: RELAY_TO from a registered member becomes RELAY_FROM to another registered
// member, within a per-sender byte budget, a per-target one (several senders cannot aim more than it
// at one member, whose endpoint may be forged: issue 17 M2) and a total one. The inner datagram is sealed with peer-peer keys: the
// hub forwards ciphertext it cannot read. Pure decision + counters; the server does the I/O.
import { KeyedRateLimiter } from '../link/rate-limit.js';
import { TokenBucket } from '../util/token-bucket.js';
import type { Member } from './registry.js';

/** Local policy (hub flag --relay-rate): bytes per second each member may relay, and its burst. */
export const defaultRelayBytesPerSec = 1_000_000;
export const defaultRelayBurstBytes = 2_000_000;
/** Local policy: what one member may receive through the relay, as a multiple of the per-sender
 * budget (a member talks to a few others at once), and what the hub relays in all (one hub's
 * socket moves a few hundred Mbit/s). Both scale with --relay-rate. */
export const relayPerTargetFactor = 2;
export const relayTotalFactor = 32;

export type RelayVerdict = 'forward' | 'unknown_sender' | 'unknown_target' | 'to_self' | 'over_budget' | 'target_over_budget' | 'total_over_budget';

export class Relay {
  private readonly budget: KeyedRateLimiter;
  private readonly targetBudget: KeyedRateLimiter;
  private readonly total: TokenBucket;
  readonly drops: Record<Exclude<RelayVerdict, 'forward'>, number> = {
    unknown_sender: 0, unknown_target: 0, to_self: 0, over_budget: 0, target_over_budget: 0, total_over_budget: 0,
  };
  relayedBytes = 0;
  relayedPackets = 0;

  constructor(bytesPerSec = defaultRelayBytesPerSec, burstBytes = defaultRelayBurstBytes) {
    this.budget = new KeyedRateLimiter(bytesPerSec, burstBytes);
    this.targetBudget = new KeyedRateLimiter(bytesPerSec * relayPerTargetFactor, burstBytes * relayPerTargetFactor);
    this.total = new TokenBucket(bytesPerSec * relayTotalFactor, burstBytes * relayTotalFactor, -Infinity);
  }

  /** Decides one RELAY_TO and counts it. */
  decide(sender: Member | undefined, target: Member | undefined, bytes: number, nowMs: number): RelayVerdict {
    let v: RelayVerdict = 'forward';
    if (!sender) v = 'unknown_sender';
    else if (!target) v = 'unknown_target';
    else if (target.id === sender.id) v = 'to_self';
    else if (!this.budget.take(sender.id, nowMs, bytes)) v = 'over_budget';
    else if (!this.targetBudget.take(target.id, nowMs, bytes)) v = 'target_over_budget';
    else if (!this.total.take(nowMs, bytes)) v = 'total_over_budget';
    if (v !== 'forward') {
      this.drops[v]++;
      return v;
    }
    sender!.relayedBytes += bytes;
    this.relayedBytes += bytes;
    this.relayedPackets++;
    return v;
  }
}
