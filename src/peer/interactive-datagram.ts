// Idle ping and interactive latency (issue 19 item 7, session 8): on a direct path measured clean, a
// small message of a quiet lane leaves as one plain sealed datagram (inner IP, as --transport datagram
// sends) instead of a KCP segment: no KCP ACK datagram back, no thin-stream copy, no deferred flush, so
// a ping costs one datagram each way. The receiver takes both kinds whatever it sends (inbound.ts), so
// nothing changes on the wire. Clean is measured, not assumed: the peer's own datagrams to us must
// have arrived without a gap in their counters (link/remote.ts RxCounts; KCP's retransmits cannot
// tell, its thin-stream copy hides a thin stream's loss) for interactiveMinCleanRx datagrams, and the
// first gap or KCP retransmission puts small messages back on KCP. Pure; leg-channel.ts applies it.

/** A loss reading (0..1, fec-pair.ts: KCP's retransmits over >= 200 segments, or the peer's FEC
 * report) from which the path is not clean (local tuning: one retransmit in the reading's smallest
 * sample of 200 segments; the dup stage only starts copying at 2 %). */
export const interactiveCleanMaxLoss = 0.005;
/** Messages larger than this always ride KCP (local tuning: a keystroke or a ping with headers, the
 * dup stage's dupMaxBytes). */
export const interactiveMaxBytes = 300;
/** A lane sending more than this many packets a second is bulk: KCP (local tuning: the dup stage's
 * dupMaxLanePps; a transfer's own TCP ACKs are thousands a second and stay in their lane's KCP
 * datagrams beside its ACKs). */
export const interactiveMaxLanePps = 150;
/** After a loss, small messages ride KCP at least this long (local tuning: a loss burst on a busy
 * link lasts well under it, and a pair sending 100 datagrams a second would otherwise prove a path
 * with 1 % loss clean again every few seconds). */
export const interactiveLossHoldMs = 10_000;
/** ...and until this many of the peer's datagrams arrived with no gap (local tuning: at 1 % loss one
 * run of 200 is 13 % likely, at 5 % 0.004 %; the ARQ reading rests on 200 segments too). */
export const interactiveMinCleanRx = 200;

/** Whether the pair's small messages may leave as datagrams at all (pair-transport.ts, once a second):
 * KCP chosen (or pinned), a direct path, and no loss reading that says lossy. A relayed path keeps KCP
 * (the hub's leg and the relay budget are another concern). */
export function cleanForDatagrams(transport: 'kcp' | 'datagram', direct: boolean, loss: number | undefined): boolean {
  return transport === 'kcp' && direct && (loss === undefined || loss < interactiveCleanMaxLoss);
}

export interface InteractiveInput {
  /** cleanForDatagrams for the pair's decision in force. */
  readonly clean: boolean;
  /** The IP packet's size. */
  readonly bytes: number;
  /** Packets the packet's lane sent over the last second, this one included. */
  readonly lanePps: number;
  /** Since the last loss seen (a gap in the peer's counters, a KCP retransmission); undefined: none. */
  readonly sinceLossMs: number | undefined;
  /** The peer's datagrams that arrived with no gap since then (or since the channel was built). */
  readonly cleanRx: number;
}

export type InteractiveWhy = 'not-clean' | 'large' | 'busy-lane' | 'recent-loss' | 'unproven' | 'datagram';

/** How this packet leaves: 'datagram' (plain), or KCP and why. */
export function interactiveRoute(i: InteractiveInput): InteractiveWhy {
  if (!i.clean) return 'not-clean';
  if (i.bytes > interactiveMaxBytes) return 'large';
  if (i.lanePps > interactiveMaxLanePps) return 'busy-lane';
  if (i.sinceLossMs !== undefined && i.sinceLossMs < interactiveLossHoldMs) return 'recent-loss';
  if (i.cleanRx < interactiveMinCleanRx) return 'unproven';
  return 'datagram';
}
