// How the peer's hub client (peer/hub-client.ts) treats an unanswered HEARTBEAT: the re-send
// times, the deadline (doubling, with jitter) and whether a missed deadline means "ask again" or
// "the hub restarted: register again". Pure decisions and their local tuning; no timers, no I/O.

/** Local tuning: a heartbeat is re-sent after 1 s and 2 s; with no answer by its deadline
 * (heartbeatDeadlineMs) the hub is presumed restarted: new handshake, new REGISTER. */
export const heartbeatRetryMs = [1_000, 2_000];
/** Local tuning: the first deadline, 4 s (a restarted hub is noticed within an interval plus 4-5 s). */
export const heartbeatFirstDeadlineMs = 4_000;
/** Local tuning: each consecutive unanswered heartbeat doubles the deadline up to this. */
export const heartbeatMaxDeadlineMs = 32_000;
/** Local tuning: up to this fraction is added at random, so peers a slow hub failed to answer at
 * the same moment do not all come back at the same moment (a re-registration storm). */
export const heartbeatDeadlineJitter = 0.25;
/** Local tuning: while the hub keeps sending us other messages (it knows our session: MAP parts of
 * a join storm) an unanswered heartbeat is sent again instead of re-registering, this many times. */
export const heartbeatMissesWhileHeard = 3;

/** How long to wait for a HEARTBEAT_OK after `misses` consecutive unanswered heartbeats (pure);
 * `random` in [0, 1). RELIABILITY.md "Hub load": a fixed 4 s made an overloaded hub's peers all
 * re-handshake and re-register at once, each re-registration more work for the same hub. */
export function heartbeatDeadlineMs(misses: number, random: number): number {
  const base = Math.min(heartbeatFirstDeadlineMs * 2 ** Math.max(0, misses), heartbeatMaxDeadlineMs);
  return Math.round(base * (1 + heartbeatDeadlineJitter * random));
}

/** What to do when a heartbeat's deadline passes (pure): re-send it when the hub was heard from
 * since it was sent (alive, only slow) a few times, else presume it restarted and register again. */
export function onHeartbeatDeadline(heardSinceSent: boolean, misses: number): 'heartbeat-again' | 'register-again' {
  return heardSinceSent && misses <= heartbeatMissesWhileHeard ? 'heartbeat-again' : 'register-again';
}
