// How many IP packets one KCP lane (kcp-channel.ts) keeps waiting to be sent before it drops new
// ones, like a router's queue. Only the unsent backlog counts: packets in flight are bounded by
// KCP itself (the window span and the rate controller's ~2 BDP). Counting them too (the rule until
// issue 19 item 4: 2,048 packets in flight plus waiting) capped a lane near one BDP at 200 ms RTT
// and ~100 Mbit/s, and every packet it dropped was an inner TCP retransmission (bench/vpn, 5 %
// loss: 4,815-18,065 drops per 20 s run, equal to iperf3's retransmits; docs/ARQ.md "Queue limit").
// Pure: the channel asks per packet.

/** The backlog a lane always accepts (the old total): an inner TCP's first bursts arrive before
 *  the rate controller has an estimate, and short paths have a BDP of a few hundred packets. */
export const minQueueSegments = 1024;
/** Never more than this waiting (memory: ~11 MB of 1.4 KB packets per lane). */
export const maxQueueSegments = 8192;

/**
 * The backlog limit for a lane whose rate controller estimates a bandwidth-delay product of
 * `bdpSegments` packets (0: no estimate yet): one BDP, the classic router buffer, so an inner TCP
 * that keeps at most 2 BDP in flight (BBR's cap) never overflows it and a loss-based one (CUBIC)
 * sees at most one extra RTT of queueing before its drop.
 */
export function queueLimitSegments(bdpSegments: number): number {
  if (!(bdpSegments > minQueueSegments)) return minQueueSegments;
  return Math.min(Math.ceil(bdpSegments), maxQueueSegments);
}

/** Whether the lane takes one more packet with `unsent` packets already waiting. */
export function laneAdmits(unsent: number, bdpSegments: number): boolean {
  return unsent < queueLimitSegments(bdpSegments);
}
