// The hub's relay: RELAY_TO from a registered member becomes RELAY_FROM to another registered
// member, within a per-sender byte budget (counting the packet each datagram tunnels, not the tunnel's
// headers: relay-queue.ts relayChargeBytes), a per-target one (several senders cannot aim more than it
// at one member, whose endpoint may be forged: issue 17 M2) and a total one. The inner datagram is sealed with peer-peer keys: the
// hub forwards ciphertext it cannot read. The per-sender budget shapes (offer: a short queue drained
// at the budget, hub/relay-shaper.ts; issue 19 item 6) or, in decide(), polices. The server does the I/O.
import { KeyedRateLimiter } from '../link/rate-limit.js';
import type { Clock } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';
import type { Member } from './registry.js';
import { relayChargeBytes, relayShapeBurstBytes } from './relay-queue.js';
import { RelayShaper } from './relay-shaper.js';

/** Local policy (hub flag --relay-rate): bytes per second each member may relay, and its burst. */
export const defaultRelayBytesPerSec = 1_000_000;
export const defaultRelayBurstBytes = 2_000_000;
/** Local policy: what one member may receive through the relay, as a multiple of the per-sender
 * budget (a member talks to a few others at once), and what the hub relays in all (one hub's
 * socket moves a few hundred Mbit/s). Both scale with --relay-rate. */
export const relayPerTargetFactor = 2;
export const relayTotalFactor = 32;

/** over_budget: the sender is over its budget (policing) or its shaping queue is full. */
export type RelayVerdict = 'forward' | 'unknown_sender' | 'unknown_target' | 'to_self' | 'over_budget' | 'target_over_budget' | 'total_over_budget';

/** What the relay needs to shape: a clock for the drain timer and the send of one RELAY_FROM. */
export interface RelayShaping {
  clock: Clock;
  send: (target: Member, inner: Uint8Array) => void;
}

interface Pending {
  sender: Member;
  target: Member;
  inner: Uint8Array;
  /** The relayed datagram's size (what the counters count), not the RELAY_FROM's. */
  bytes: number;
  /** Where it leaves, when not as RELAY_FROM to a member of this hub (hub-to-hub: cluster-forward.ts). */
  emit?: (inner: Uint8Array) => void;
  /** What the budgets count: the packet it tunnels (relay-queue.ts relayChargeBytes). */
  charge: number;
}

export class Relay {
  private readonly shaper: RelayShaper<Pending>;
  private readonly targetBudget: KeyedRateLimiter;
  private readonly total: TokenBucket;
  private readonly clock: Clock | undefined;
  readonly drops: Record<Exclude<RelayVerdict, 'forward'>, number> = {
    unknown_sender: 0, unknown_target: 0, to_self: 0, over_budget: 0, target_over_budget: 0, total_over_budget: 0,
  };
  relayedBytes = 0;
  relayedPackets = 0;

  /** Each member's budget (--relay-rate), told to members that ask (wire/relay-budget.ts). */
  readonly bytesPerSec: number;

  constructor(bytesPerSec = defaultRelayBytesPerSec, burstBytes = defaultRelayBurstBytes, shaping?: RelayShaping) {
    this.bytesPerSec = bytesPerSec;
    this.clock = shaping?.clock;
    this.shaper = new RelayShaper<Pending>({
      bytesPerSec,
      // Shaping: a shallow bucket, the queue takes the bursts (relay-queue.ts relayShapeBurstMs).
      burstBytes: shaping ? relayShapeBurstBytes(bytesPerSec, burstBytes) : burstBytes,
      ...(shaping ? { clock: shaping.clock, emit: (p: Pending) => this.leave(p, shaping.send) } : {}),
    });
    this.targetBudget = new KeyedRateLimiter(bytesPerSec * relayPerTargetFactor, burstBytes * relayPerTargetFactor);
    this.total = new TokenBucket(bytesPerSec * relayTotalFactor, burstBytes * relayTotalFactor, -Infinity);
  }

  /** Datagrams waiting in the shaping queues now (bytes with overhead), the most ever, and how many waited. */
  get queuedBytes(): number {
    return this.shaper.queuedBytes;
  }
  get peakQueuedBytes(): number {
    return this.shaper.peakQueuedBytes;
  }
  get delayedPackets(): number {
    return this.shaper.delayed;
  }

  /** Decides one RELAY_TO and counts it (policing: over the sender's budget is dropped). */
  decide(sender: Member | undefined, target: Member | undefined, bytes: number, nowMs: number): RelayVerdict {
    const charge = relayChargeBytes(bytes);
    let v = this.check(sender, target);
    if (v === 'forward' && !this.shaper.takeNow(sender!.id, charge, nowMs)) v = 'over_budget';
    if (v === 'forward') v = this.pass(sender!, target!, bytes, charge, nowMs);
    if (v !== 'forward') this.drops[v]++;
    return v;
  }

  /**
   * Shapes one RELAY_TO (needs `shaping`): `make` builds the RELAY_FROM (a copy of the datagram,
   * so the caller's buffer may be reused; not called for a refused one), sent now or when the
   * sender's budget allows; `emit`, when given, sends it instead of the shaping's send (a
   * member of another hub: the bytes `make` built go to its hub).
   * 'forward' covers both; a drop is counted and returned.
   */
  offer(sender: Member | undefined, target: Member | undefined, bytes: number, make: () => Uint8Array, emit?: (inner: Uint8Array) => void): RelayVerdict {
    const charge = relayChargeBytes(bytes);
    let v = this.check(sender, target);
    if (v === 'forward' && this.shaper.offer(sender!.id, charge, () => ({ sender: sender!, target: target!, inner: make(), bytes, charge, ...(emit ? { emit } : {}) }), this.clock!.now()) === 'full') v = 'over_budget';
    if (v !== 'forward') this.drops[v]++;
    return v;
  }

  /** Stops the drain timer and drops what waits. */
  close(): void {
    this.shaper.close();
  }

  private check(sender: Member | undefined, target: Member | undefined): RelayVerdict {
    if (!sender) return 'unknown_sender';
    if (!target) return 'unknown_target';
    if (target.id === sender.id) return 'to_self';
    return 'forward';
  }

  /** The per-target and total budgets, then the counters. */
  private pass(sender: Member, target: Member, bytes: number, charge: number, nowMs: number): RelayVerdict {
    if (!this.targetBudget.take(target.id, nowMs, charge)) return 'target_over_budget';
    if (!this.total.take(nowMs, charge)) return 'total_over_budget';
    sender.relayedBytes += bytes;
    this.relayedBytes += bytes;
    this.relayedPackets++;
    return 'forward';
  }

  /** A shaped datagram leaves the sender's queue (now or from the timer). */
  private leave(p: Pending, send: RelayShaping['send']): void {
    const v = this.pass(p.sender, p.target, p.bytes, p.charge, this.clock!.now());
    if (v !== 'forward') {
      this.drops[v]++;
      return;
    }
    if (p.emit) p.emit(p.inner);
    else send(p.target, p.inner);
  }
}
