// Local tuning of the link runtime (src/link/link.ts). Protocol timing (rekey, reject) lives in
// src/crypto/constants.ts; these values only shape how this node retries and limits.
import { HANDSHAKE_MAX_CLOCK_SKEW_MS, REKEY_AFTER_TIME_MS, REKEY_ATTEMPT_TIME_MS, REKEY_TIMEOUT_MS } from '../crypto/constants.js';

/** First handshake retransmit; doubles per attempt up to REKEY_TIMEOUT_MS (a lost first INIT costs
 * one second, not WireGuard's five, which matters for punching and registration). */
export const handshakeFirstRetryMs = 1_000;
export const handshakeMaxRetryMs = REKEY_TIMEOUT_MS;
/**
 * A remote that answered our initiation with a cookie reply is loaded: the backoff keeps doubling
 * up to this (handshake-retry.ts). 20 s still gives a rekey 4 tries in the 60 s between
 * REKEY_AFTER_TIME and REJECT_AFTER_TIME (0, 5, 15, 35, 55 s), against 12 at a flat 5 s.
 */
export const handshakeLoadedMaxRetryMs = 20_000;
/** Up to this much is added to each retry (WireGuard REKEY_TIMEOUT_JITTER_MAX). */
export const handshakeRetryJitterMs = 333;
/** Give up and drop the queue after this long without a response (WireGuard REKEY_ATTEMPT_TIME). */
export const handshakeGiveUpMs = REKEY_ATTEMPT_TIME_MS;
/** Packets held per remote while its handshake runs (oldest dropped first). */
export const handshakeQueueLimit = 64;
/** Per-source budget of HANDSHAKE_INIT that pass mac1 (each costs 4 DH): a burst, then 5 per second. */
export const initiationsPerSec = 5;
export const initiationBurst = 10;
/**
 * Cookie replies (PROTOCOL.md): the node is under load once initiations passing mac1 arrive faster
 * than this, beyond a burst of as many (rate-limit.ts LoadGauge). 250 DH a second is about a fifth
 * of a core at ~840 us each: a spoofed-source flood costs at most that before it only gets cookies,
 * while the 10,000-peer rekey wave (110-170/s) and registration ramp (~190/s) stay under it.
 */
export const underLoadInitiationsPerSec = 250;
export const underLoadBurst = 250;
/** Under load until this long after the gauge last ran dry (WireGuard's UnderLoadAfterTime). */
export const underLoadHoldMs = 1_000;
/**
 * Under load, an initiation with a valid mac2 has proven its source address, and the budget is per
 * IP (an attacker owns every port of its address): WireGuard's 20/s. Peers behind one NAT share it.
 */
export const underLoadInitiationsPerIpPerSec = 20;
export const underLoadIpBurst = 20;
/**
 * Initiator only: each session waits up to this much longer than REKEY_AFTER_TIME before its
 * rekey, chosen at random per session, so peers that registered together drift apart instead of
 * hitting the hub as one wave every 2 minutes. A 24th of the interval (5 s at 120 s), so a test
 * run with MESHD_TEST_REKEY_MS keeps its proportions; far inside the 60 s before REJECT_AFTER_TIME.
 */
export const rekeyAfterTimeJitterMs = Math.min(5_000, Math.floor(REKEY_AFTER_TIME_MS / 24));
/**
 * Initiations that passed the cheap checks wait in a backlog for their DH (~0.4-2.5 ms each), which
 * is worked through in slices of this long between turns of the event loop, so a burst of
 * handshakes (10,000 peers rekeying: thousands within a second when a map change makes every peer
 * due for a rekey send at once) never holds up TRANSPORT (ACKs, heartbeats, relayed data) for
 * seconds. A retry from the same source replaces its older initiation in place.
 */
export const handshakeSliceMs = 2;
/** At most this many initiations wait; more are dropped as `backlog_full` and answered with a cookie
 * reply, which tells the initiator to back off (handshake-retry.ts). */
export const handshakeBacklogLimit = 1_024;
/** A backlog this deep puts the node under load (cookie replies for unproven initiations), as
 * wireguard-go does at an eighth of its handshake queue. */
export const handshakeBacklogUnderLoad = 128;
/** Per-source-IP budget of HUB_KEY_REQ answered (by IP, not IP and port: a sender owns every port
 * of its address). A peer asks once at first start, retrying at most every second. */
export const hubKeyRequestsPerSec = 2;
export const hubKeyRequestBurst = 4;
/** All HUB_KEY_REQ answered, whatever their source: new peers joining at once stay far below it,
 * and a flood of fresh requests (only a holder of the secret can make them) costs at most this many
 * 64-byte answers a second. */
export const hubKeyAnswersPerSec = 20;
export const hubKeyAnswerBurst = 40;
/** Source IPs the HUB_KEY_REQ limiter tracks at once; a new one beyond it is refused (under load). */
export const hubKeySourcesMax = 4_096;
/** Answered HUB_KEY_REQ remembered per generation (hub-key-gate.ts): above hubKeyAnswersPerSec times
 * twice HUB_KEY_MAX_CLOCK_SKEW_MS (7,240), so the total rate, not this cap, is what binds. */
export const hubKeyReplayCapacity = 8_192;
/** Sources (IP and port, or IP under load) the initiation limiters track at once; a new one beyond
 * it is refused until a sweep frees full buckets. Above the 10,000-peer rekey wave's sources. */
export const initiationSourcesMax = 16_384;
/**
 * WireGuard's "new handshake after no reply": a remote that has been sent data on a session but has
 * sent nothing authenticated back for this long may have lost that session (it restarted, or
 * forgot us when a restarted hub's map briefly left us out), so the sender starts a new handshake
 * (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT in WireGuard: 15 s).
 */
export const newHandshakeAfterSilenceMs = 15_000;
/**
 * An initiator that has sent to a remote within this long starts its rekey the moment the session
 * falls due (one timer per remote we initiated to; the hub, a responder, arms none) instead of on
 * its next send. Longer than the hub heartbeat (20 s), so every peer's hub session rekeys on time.
 */
export const rekeyInUseWithinMs = 30_000;
/** One housekeeping timer for the whole link (expires old keys); the only other timers are per handshake and per initiated remote (rekey). */
export const housekeepingIntervalMs = 10_000;
/**
 * A remote that does not belong (link.ts `retain`: not a registered member at the hub, neither the
 * hub nor in the map at a peer) is forgotten this long after it appeared: a new peer registers
 * within a round trip of its handshake, and one refused at REGISTER handshakes again when it retries.
 * Each held a few KB that was never freed (400 keys stayed 15 minutes: red-team finding M5).
 */
export const strangerGraceMs = 60_000;
/** At most this many strangers are held at once; past it the oldest is forgotten at once. */
export const maxStrangers = 1_024;
/** A handshake refused as stale (clock skew) is logged at warn at most this often per remote. */
export const staleWarnIntervalMs = 60_000;
/** Remotes remembered for that rate limit at once; beyond it stale handshakes are logged at debug. */
export const staleWarnRemotesMax = 1_024;
/** HANDSHAKE_MAX_CLOCK_SKEW_MS in seconds, for the log line. */
export const maxClockSkewS = HANDSHAKE_MAX_CLOCK_SKEW_MS / 1000;
