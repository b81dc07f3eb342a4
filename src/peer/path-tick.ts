// How long node.ts's one path timer sleeps (issue 19 item 7): every pathTickMs while something is
// timed that finely (a punch round, a triggered check, a NAT traversal attempt, a PING on the direct
// path awaiting its PONG), else until the earliest keepalive PING, retry or caps question any peer
// has due, at most pathIdleTickMaxMs. A warm idle peer woke ten times a second to find nothing due.

/** Local tuning: one timer per node drives punching and path upkeep for every peer; its period
 * while punching (the punch schedule's steps are 200 ms apart, path.ts punchScheduleMs). */
export const pathTickMs = 100;

/** Local tuning: the longest sleep with nothing due. Traffic after an idle spell turns keepalives
 * from every 10 s to every 1 s (path.ts pingIntervalMs): the first of them goes at most this late. */
export const pathIdleTickMaxMs = 1_000;

/** The delay until the next tick, given the earliest time any peer's path state has work (`dueMs`,
 * Infinity for none). */
export function pathTickDelayMs(dueMs: number, nowMs: number): number {
  return Math.min(pathIdleTickMaxMs, Math.max(pathTickMs, dueMs - nowMs));
}
