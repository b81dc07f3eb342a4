// When may a hub sharing NATS judge another hub dead (issue 24 item 4)? Only when its own view of
// the shared state is sound: its presence writes are acknowledged and its feed delivers them back.
// After a NATS node rejoins, JetStream answers 503 for seconds on every hub at once; a hub whose own
// writes fail cannot tell a dead hub from its own trouble, so it judges nobody, and once its view is
// sound again every other hub gets a full TTL from that moment. Pure; used by hub/nats-state.ts.

export interface PresenceView {
  /** The NATS connection is up. */
  connected: boolean;
  /** When a presence write was last acknowledged, and when one last failed (-Infinity: never). */
  lastAckMs: number;
  lastFailMs: number;
  /** When the presence feed (its watch, or a stalled watch's read by sequence) last delivered this
   * hub's own entry. */
  lastOwnSeenMs: number;
  refreshMs: number;
}

/** Local tuning: a view is sound while writes and the watch kept up within this many refreshes
 * (one late refresh is normal; two mean trouble). */
export const presenceSoundRefreshes = 2;

/** Whether this hub's own view of presence is sound now (pure). */
export function viewSound(v: PresenceView, nowMs: number): boolean {
  const within = presenceSoundRefreshes * v.refreshMs;
  return v.connected && v.lastAckMs >= v.lastFailMs && nowMs - v.lastAckMs <= within && nowMs - v.lastOwnSeenMs <= within;
}

/** Whether another hub is alive (pure): heard within the TTL, counting from when our own view was
 * last unsound if that is later (our trouble is not its death). */
export function hubAlive(nowMs: number, lastSeenMs: number, graceFromMs: number, ttlMs: number): boolean {
  return nowMs - Math.max(lastSeenMs, graceFromMs) <= ttlMs;
}
