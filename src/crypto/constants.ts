// Protocol constants of the crypto layer (sessions, rekey, replay). Used by session.ts, keypairs.ts
// and the runtime in src/link that schedules handshakes. Values follow WireGuard's whitepaper §6.

/** Test only (bench/soak): MESHD_TEST_REKEY_MS > 0 replaces REKEY_AFTER_TIME_MS so a soak run rekeys
 * every few seconds. Read here and nowhere else; unset in production. */
const testRekeyMs = Number(globalThis.process?.env?.MESHD_TEST_REKEY_MS ?? 0);

/** Protocol (both sides should agree): the initiator starts a new handshake once its current key is
 * this old, so a fresh key is in place well before REJECT_AFTER_TIME_MS. */
export const REKEY_AFTER_TIME_MS = testRekeyMs > 0 ? testRekeyMs : 120_000;

/** Protocol (both sides must agree): a key this old is neither used to send nor accepted. If the
 * sides disagreed, one would keep sending on a key the other already refuses (silent loss). */
export const REJECT_AFTER_TIME_MS = 180_000;

/** Protocol (either side may trigger): after this many messages sent on one key, rekey. */
export const REKEY_AFTER_MESSAGES = 2n ** 60n;

/** Protocol (both sides must agree): the sender never uses a counter at or above this (nonce reuse
 * would break ChaCha20-Poly1305); the receiver refuses such counters. WireGuard's value. */
export const REJECT_AFTER_MESSAGES = 2n ** 64n - 2n ** 13n - 1n;

/** Local limit: counters are JS numbers on the hot path, exact below 2^53. A sender reaching it
 * (centuries at line rate; rekey happens every 2 minutes) stops using the key. */
export const MAX_SAFE_COUNTER = Number.MAX_SAFE_INTEGER;

/** Local tuning (receiver only; the sender does not know it): how far behind the highest counter
 * seen a packet may arrive and still be accepted. 255 words of 32 bits, as WireGuard's ring of
 * 64-bit blocks (8128); large enough for reordering across multiple paths at Gbit rates. */
export const REPLAY_RING_WORDS = 256;
export const REPLAY_WINDOW_SIZE = (REPLAY_RING_WORDS - 1) * 32; // 8160 counters

/** Runtime tuning (src/link): retry an unanswered initiation after this long (WireGuard REKEY_TIMEOUT). */
export const REKEY_TIMEOUT_MS = 5_000;
/** Runtime tuning: give up retrying a handshake after this long (WireGuard REKEY_ATTEMPT_TIME). */
export const REKEY_ATTEMPT_TIME_MS = 90_000;
/** Runtime tuning: send a keepalive when we received but sent nothing for this long (WireGuard KEEPALIVE_TIMEOUT). */
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/** Initiator side: on receiving with a key this old, start a handshake now so the new key is ready
 * before REJECT_AFTER_TIME_MS even if we have nothing to send (WireGuard's receive-side rule). */
export const REKEY_ON_RECEIVE_AFTER_MS = REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS;

/** Protocol-adjacent (responder only, but initiators must keep clocks within it): an initiation
 * whose TAI64N timestamp is further than this from the responder's wall clock, in either direction,
 * is refused as HANDSHAKE_STALE. Why: a responder that restarted has forgotten the last timestamp
 * of each key, so without this bound a captured initiation could be replayed to it forever. 180 s
 * equals REJECT_AFTER_TIME_MS; nodes are expected to run NTP (skew beyond 3 min fails loudly). */
export const HANDSHAKE_MAX_CLOCK_SKEW_MS = 180_000;
