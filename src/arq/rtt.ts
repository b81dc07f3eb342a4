// The classic ikcp.c RTT estimator and RTO (ikcp_update_ack; docs/ARQ.md) and the per-segment RTO backoff
// on timeout (ikcp_flush's resend rule), as pure functions over integers so they can be tested with tables.
import { KCP_RTO_MAX_MS } from './constants.js';

export interface RttState {
  /** Smoothed RTT in ms; 0 means "no sample yet" (the reference's convention). */
  rxSrtt: number;
  /** RTT variation in ms. */
  rxRttval: number;
  /** Current retransmission timeout in ms. */
  rxRto: number;
}

/**
 * Folds one RTT sample (ms, >= 0) into the estimator. Integer arithmetic truncating like C:
 * first sample srtt = rtt, rttval = rtt/2; later rttval = (3 rttval + |rtt - srtt|)/4, srtt =
 * (7 srtt + rtt)/8 (>= 1); rto = srtt + max(interval, 4 rttval) clamped to [minrto, 60000].
 */
export function rttUpdate(s: RttState, rttMs: number, intervalMs: number, rxMinrtoMs: number): void {
  if (s.rxSrtt === 0) {
    s.rxSrtt = rttMs;
    s.rxRttval = Math.floor(rttMs / 2);
  } else {
    const delta = Math.abs(rttMs - s.rxSrtt);
    s.rxRttval = Math.floor((3 * s.rxRttval + delta) / 4);
    s.rxSrtt = Math.floor((7 * s.rxSrtt + rttMs) / 8);
    if (s.rxSrtt < 1) s.rxSrtt = 1;
  }
  const rto = s.rxSrtt + Math.max(intervalMs, 4 * s.rxRttval);
  s.rxRto = Math.min(Math.max(rto, rxMinrtoMs), KCP_RTO_MAX_MS);
}

/**
 * A segment's next rto after a timeout retransmission. nodelay 0: rto += max(rto, rxRto) (about
 * doubling); nodelay 1: rto += rto/2; nodelay >= 2: rto += rxRto/2. Not clamped, as in the reference.
 */
export function rtoBackoff(segRtoMs: number, rxRtoMs: number, nodelay: number): number {
  if (nodelay === 0) return segRtoMs + Math.max(segRtoMs, rxRtoMs);
  const step = nodelay < 2 ? segRtoMs : rxRtoMs;
  return segRtoMs + Math.floor(step / 2);
}

/** Extra delay added to a segment's first resend time: rxRto/8 in normal mode, 0 with nodelay. */
export function firstSendSlackMs(rxRtoMs: number, nodelay: number): number {
  return nodelay === 0 ? rxRtoMs >>> 3 : 0;
}
