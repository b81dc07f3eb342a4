// The sender's loss reading while FEC is off (fec-pair.ts): KCP retransmits what the path lost, so
// retransmissions over PUSH segments sent, between two readings of the channel's counters, is the
// loss rate. Retransmissions an ACK showed were needless (kcp.ts retransSpurious: reordering made
// fast retransmit fire) are not losses; those it cannot show (acked by una) still count, which
// errs towards parity.
// Adds no byte on the wire. Datagram transport has no such reading (docs/ARQ.md "FEC"). Pure.

/** Fewest segments a reading rests on (local tuning: below this one retransmit is > 0.5 %). */
export const arqMinSegments = 200;

export interface ArqCounters {
  readonly pushSegs: number;
  readonly retransmits: number;
  readonly spurious: number;
}

/** Loss rate 0..1 between two readings, or undefined when too few segments were sent since. */
export function arqLoss(prev: ArqCounters, cur: ArqCounters, minSegments = arqMinSegments): number | undefined {
  const sent = cur.pushSegs - prev.pushSegs;
  const resent = cur.retransmits - prev.retransmits - (cur.spurious - prev.spurious);
  if (sent < minSegments || resent < 0) return undefined;
  return Math.min(1, resent / sent);
}
