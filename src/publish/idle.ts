// The idle timeout for published-service connections: a connection where no byte moved either way
// for idleMs is closed, so a visitor cannot hold a slot (and its buffers) by doing nothing.
// Used by hub-publisher.ts on a sweep timer that runs only while connections are open.

/** Local tuning: default idle timeout (SSH sessions and HTTP keep-alives send more often). */
export const defaultIdleTimeoutMs = 300_000;

export function isIdle(now: number, lastActivityAt: number, idleMs: number): boolean {
  return idleMs > 0 && now - lastActivityAt >= idleMs;
}

/** How often to look: a tenth of the timeout, between 1 s and 30 s (closes within 110 %). */
export function idleSweepMs(idleMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(idleMs / 10)));
}
