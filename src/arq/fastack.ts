// Fast-retransmit counting (kcp.ts parseFastack): whether an input whose highest acked sn carried
// `ackTs` skipped a segment still in flight. Pure; kcp.ts calls it per segment below that sn.

/**
 * The segment (last sent at `segTs`, `segXmit` transmissions so far) counts one more skip.
 * Without `conserve` (ikcp.c's published default) every segment below the acked sn does. With it
 * (IKCP_FASTACK_CONSERVE) only if the ACK answers a transmission no older than the segment's:
 * a first transmission left before every higher sn, so an equal ms still means "sent after".
 * A repair does not: new segments of higher sn may have left earlier in the same ms (a sender
 * flushes many times a millisecond under load), and their ACKs, arriving before the repair's own,
 * made it "lost" and sent again before it could arrive. `repairStrict` (DEPARTURE 14) counts only
 * ACKs of transmissions from a later ms for a repair, as RACK (DEPARTURE 13) already does.
 */
export function skipsSegment(ackTs: number, segTs: number, segXmit: number, conserve: boolean, repairStrict: boolean): boolean {
  if (!conserve) return true;
  const d = (ackTs - segTs) | 0;
  return repairStrict && segXmit > 1 ? d > 0 : d >= 0;
}
