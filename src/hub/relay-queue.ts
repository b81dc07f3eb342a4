// The relay's shaping queue (issue 19 item 6): what a sender over its relay budget may have waiting
// at the hub, and when the head of that queue may leave. Pure: sizes from the budget, delays from
// the token level; hub/relay-shaper.ts owns the timer. Policing by dropping made the inner TCP
// collapse (31 of 50 Mbit/s); a short queue drained at the budget lets the pair's rate controller
// read the budget as a bottleneck (rising RTT) instead of as loss.

/** Local tuning: a sender's queue holds this much time at its budget. A BBR-like sender
 * (arq/rate-control.ts) overshoots in Startup by up to ~2 BDP and probes at 1.25x for one RTT; in
 * process (test/hub/relay-shaping.test.ts, 2 s windows), 100 ms still dropped during probes at 200 ms
 * RTT, 200 ms dropped only in the first 2 s there and never at 40 ms RTT. An interactive packet
 * behind a bulk flow of the same sender waits at most this long (in steady state far less: the
 * controller drains what it queued). */
export const relayQueueMs = 200;
/** Local tuning: the queue is never smaller than this (a few dozen full datagrams: slow budgets still absorb a burst). */
export const relayQueueMinBytes = 64 * 1024;
/** Local tuning: nor larger than this per sender, whatever the budget (memory per member). */
export const relayQueueMaxBytes = 4 * 1024 * 1024;
/** Local tuning: all senders' queues together hold at most this many bytes (memory of the hub). */
export const relayQueueTotalBytes = 32 * 1024 * 1024;
/** Local tuning: what one queued item costs beyond its bytes (the JS objects around it), so a flood
 * of tiny datagrams is bounded in memory too. */
export const relayItemOverheadBytes = 128;
/** Local tuning: the drain timer never waits less than this (timers have ms resolution; the token
 * bucket keeps what a late timer missed, so the rate holds). */
export const relayDrainMinMs = 1;

/** Local tuning: when shaping, the sender's bucket holds this much time at its budget. The queue,
 * not the bucket, absorbs bursts; a deep bucket (--relay-rate's policing burst is 1 s) lets a
 * fresh sender run at line rate until it empties, and the pair's rate controller, having measured
 * that rate, then overfills the queue (~1,300 drops in the next 2 s in process). 20 ms still
 * covers a drain timer that fires late on a busy host. */
export const relayShapeBurstMs = 20;
/** Local tuning: the shaping bucket is never shallower than this (a dozen full datagrams). */
export const relayShapeBurstMinBytes = 16 * 1024;

/** The shaping bucket's depth for this budget: relayShapeBurstMs of it, within [min, policy burst]. */
export function relayShapeBurstBytes(bytesPerSec: number, policyBurstBytes: number): number {
  const want = Math.ceil((bytesPerSec * relayShapeBurstMs) / 1000);
  return Math.min(policyBurstBytes, Math.max(relayShapeBurstMinBytes, want));
}

/**
 * Protocol constant (docs/PROTOCOL.md "MTU budget"): the bytes a relayed datagram carries around
 * the packet it tunnels: the peer-to-peer TRANSPORT header and AEAD tag (32), the inner kind byte
 * (1) and a KCP segment header (24). The hub cannot read which transport the pair uses (the
 * datagram is sealed); for datagram mode it over-subtracts 24 bytes, in the pair's favour.
 * test/hub/relay-queue.test.ts checks the sum against the wire constants.
 */
export const relayTunnelOverheadBytes = 57;
/** Local tuning: what a relayed datagram counts at least (a flood of tiny datagrams is not free).
 * Not more: a bare KCP ack (57 bytes) carries none of the pair's packets, only tunnel overhead,
 * which the budget does not count, and a sender returns one such datagram for about every one its
 * peer sends it. Relaying one TCP stream, the receiving side's inner TCP sends an ACK per one or two
 * segments (one per segment under the reordering KCP's repairs show it), so the data sender's own
 * ack-only datagrams took an estimated 2-4 % of its budget at 64 bytes each (issue 19 item 6,
 * docs/BENCHMARKS.md "Issue 19, session 7"). At 16 a flood still pays 16 bytes a datagram; what
 * bounds the hub's CPU is not this floor (64 bytes at the default budget was still ~100,000
 * datagrams a second per sender). */
export const relayChargeMinBytes = 16;

/**
 * What one relayed datagram of `bytes` costs against --relay-rate: the tunnelled packet it carries
 * (issue 19 item 6). The budget is a rate of the pair's traffic as its TUN sees it, like a link's
 * rate; the tunnel's own headers (~4 % of a full datagram) and the hub's outer framing and IP/UDP
 * headers (another ~5 %) are not counted, so the hub's socket moves ~1.09x the budget.
 */
export function relayChargeBytes(bytes: number): number {
  return Math.max(relayChargeMinBytes, bytes - relayTunnelOverheadBytes);
}

/** Bytes a sender with this budget may have queued. */
export function relayQueueCapBytes(bytesPerSec: number): number {
  const want = Math.ceil((bytesPerSec * relayQueueMs) / 1000);
  return Math.min(relayQueueMaxBytes, Math.max(relayQueueMinBytes, want));
}

/** What one queued datagram counts against the caps. */
export function relayItemCost(bytes: number): number {
  return bytes + relayItemOverheadBytes;
}

/**
 * Milliseconds until a head of `headBytes` fits in a bucket holding `tokens` and refilling at
 * `bytesPerSec`: 0 when it fits now, else at least relayDrainMinMs.
 */
export function relayDrainDelayMs(tokens: number, headBytes: number, bytesPerSec: number): number {
  if (tokens >= headBytes) return 0;
  if (!(bytesPerSec > 0)) return Infinity;
  return Math.max(relayDrainMinMs, ((headBytes - tokens) / bytesPerSec) * 1000);
}

/** Whether a datagram costing `cost` may join a queue holding `queued` bytes (cap `cap`), with `total` queued hub-wide. */
export function relayQueueAdmits(queued: number, cost: number, cap: number, total: number, totalCap = relayQueueTotalBytes): boolean {
  return queued + cost <= cap && total + cost <= totalCap;
}

/** A FIFO of items with a byte count, amortised O(1) (a head index, compacted now and then). */
export class ByteFifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  /** Sum of the costs of the items queued. */
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T, cost: number): void {
    this.items.push(item);
    this.bytes += cost;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(cost: number): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const it = this.items[this.head];
    this.items[this.head++] = undefined;
    this.bytes -= cost;
    if (this.head >= this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return it;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}
