// How big the batched socket's receive buffer should be (net/udp-native.ts asks the kernel): it
// starts at the configured size and doubles, up to a cap, each time the kernel reports datagrams
// dropped for want of room (SO_RXQ_OVFL), at most once per interval. The drops are the measurement:
// a receive queue too short for the path's rate times the daemon's longest pause (issue 19 session 7).

/** Local tuning: the largest receive buffer asked for (the kernel accounts twice this). 16 MiB holds
 * ~7,000 full datagrams: ~250 ms at 300 Mbit/s, several of the receiving daemon's longest pauses. */
export const maxRecvBufferBytes = 16 * 1024 * 1024;
/** Local tuning: one growth per second, so one burst of drops doubles the buffer once, not per batch. */
export const recvBufferGrowIntervalMs = 1_000;

export interface RecvBufferState {
  /** What we last asked for. */
  askedBytes: number;
  /** The kernel's drop count when we last looked. */
  droppedSeen: number;
  /** When we last grew (monotonic ms); -Infinity before the first time. */
  grownAtMs: number;
}

/** The size to ask for now, or undefined to leave the buffer as it is. `dropped` is the kernel's
 * cumulative count for this socket. */
export function nextRecvBufferBytes(s: RecvBufferState, dropped: number, nowMs: number, maxBytes = maxRecvBufferBytes): number | undefined {
  if (dropped <= s.droppedSeen) return undefined;
  if (s.askedBytes >= maxBytes || nowMs - s.grownAtMs < recvBufferGrowIntervalMs) return undefined;
  return Math.min(maxBytes, s.askedBytes * 2);
}
