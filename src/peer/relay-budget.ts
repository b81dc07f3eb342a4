// The hub's relay budget as this peer knows it (issue 19 item 6, session 8): RELAY_BUDGET (control
// type 64, wire/relay-budget.ts) after each REGISTER_OK, and the pacing ceiling a relayed pair's KCP
// sender takes from it (leg-channel.ts -> kcp-channel.ts -> arq/rate-control.ts setCeiling), so a
// relayed transfer starts at the budget and never probes above it into the hub's shaping queue.
// node.ts feeds the holder; the decisions are pure (test/peer/relay-budget.test.ts).
import { KCP_OVERHEAD_BYTES } from '../arq/constants.js';
import { DecodeError } from '../util/errors.js';
import { decodeRelayBudget } from '../wire/relay-budget.js';

/**
 * Local tuning: the share of the budget the pair's data sender paces at. What the controller does
 * not pace beside it (its KCP acks for the other side's data: ~0.5-1 % of the budget for one TCP
 * stream, hub/relay-queue.ts relayChargeMinBytes) waits in the hub's short queue, and a queue that
 * stands sends the controller back to its delivered rate (rate-control.ts setCeiling). In process
 * (test/hub/relay-shaping.test.ts's full-size case) 0.99 gave 95.2 % of the budget against 96.2 % at 1,
 * with no queue at the hub either way.
 */
export const relayCeilingShare = 1;
/** Local tuning: the most upstream loss the ceiling makes room for (a reading above it is a path
 * the budget is not what limits; pacing far above the budget would only fill the hub's queue). */
export const relayCeilingMaxLoss = 0.2;

/** Local tuning: a budget above this (bytes/s: 200 Mbit/s) sets no ceiling. One relayed pair got
 * 315-365 Mbit/s through an uncapped hub (docs/BENCHMARKS.md "Issue 19, session 6"): a budget that
 * high is not what limits the pair, and starting a flow at it would be a bet on a path nobody
 * measured; the controller finds the path as before. */
export const relayCeilingMaxBytesPerSec = 25_000_000;

/** What this peer knows of its home hub's relay budget. */
export class RelayBudget {
  /** Bytes per second of tunnelled packets; undefined = not told (an older hub, or not yet). */
  bytesPerSec: number | undefined;
  /** RELAY_BUDGET messages taken, and malformed ones dropped. */
  received = 0;
  malformed = 0;

  /** A RELAY_BUDGET control body from the home hub: applied and acked; false (counted) when malformed. */
  receive(body: Uint8Array, ack: (seq: number) => void): boolean {
    let m;
    try {
      m = decodeRelayBudget(body);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.malformed++;
      return false;
    }
    ack(m.seq);
    this.received++;
    this.bytesPerSec = m.kbitPerSec === 0 ? undefined : (m.kbitPerSec * 1000) / 8;
    return true;
  }

  /** A new registration: the hub (maybe another one) says its budget again; an older one says nothing. */
  forget(): void {
    this.bytesPerSec = undefined;
  }
}

export interface RelayCeilingInput {
  /** The pair's packets go on a direct path now (no budget applies). */
  direct: boolean;
  /** The hub's budget (bytes/s of tunnelled packets); undefined = not known. */
  budgetBytesPerSec: number | undefined;
  /** The pair's loss on our sends (0..1, fec-loss.ts arqLoss), undefined before a reading. */
  loss: number | undefined;
}

/**
 * The rate (bytes/s of tunnelled packets) a pair's KCP sender may pace at, or undefined for none.
 * Relayed with a known budget: the budget's share, raised by the loss our sends meet (what is lost
 * on our link never reaches the hub, so never counts against the budget, yet KCP resends it).
 */
export function relayPacingCeiling(i: RelayCeilingInput): number | undefined {
  if (i.direct || i.budgetBytesPerSec === undefined || !(i.budgetBytesPerSec > 0) || i.budgetBytesPerSec > relayCeilingMaxBytesPerSec) return undefined;
  const loss = Math.min(relayCeilingMaxLoss, Math.max(0, i.loss ?? 0));
  return (i.budgetBytesPerSec * relayCeilingShare) / (1 - loss);
}

/**
 * A ceiling in tunnelled bytes per second as the rate controller counts (bytes per ms of segments
 * with their 24-byte KCP header, rate-control.ts): the hub charges a full segment's payload
 * (hub/relay-queue.ts relayChargeBytes), the controller that plus the header.
 */
export function controllerCeiling(bytesPerSec: number, mss: number): number {
  return ((bytesPerSec / 1000) * (mss + KCP_OVERHEAD_BYTES)) / Math.max(1, mss);
}
