// Local tuning of the link runtime (src/link/link.ts). Protocol timing (rekey, reject) lives in
// src/crypto/constants.ts; these values only shape how this node retries and limits.
import { REKEY_ATTEMPT_TIME_MS, REKEY_TIMEOUT_MS } from '../crypto/constants.js';

/** First handshake retransmit; doubles per attempt up to REKEY_TIMEOUT_MS (a lost first INIT costs
 * one second, not WireGuard's five, which matters for punching and registration). */
export const handshakeFirstRetryMs = 1_000;
export const handshakeMaxRetryMs = REKEY_TIMEOUT_MS;
/** Up to this much is added to each retry (WireGuard REKEY_TIMEOUT_JITTER_MAX). */
export const handshakeRetryJitterMs = 333;
/** Give up and drop the queue after this long without a response (WireGuard REKEY_ATTEMPT_TIME). */
export const handshakeGiveUpMs = REKEY_ATTEMPT_TIME_MS;
/** Packets held per remote while its handshake runs (oldest dropped first). */
export const handshakeQueueLimit = 64;
/** Per-source budget of HANDSHAKE_INIT that pass mac1 (each costs 4 DH): a burst, then 5 per second. */
export const initiationsPerSec = 5;
export const initiationBurst = 10;
/** Per-source budget of HUB_KEY_REQ answered. */
export const hubKeyRequestsPerSec = 2;
export const hubKeyRequestBurst = 4;
/**
 * WireGuard's "new handshake after no reply": a remote that has been sent data on a session but has
 * sent nothing authenticated back for this long may have lost that session (it restarted, or
 * forgot us when a restarted hub's map briefly left us out), so the sender starts a new handshake
 * (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT in WireGuard: 15 s).
 */
export const newHandshakeAfterSilenceMs = 15_000;
/** One housekeeping timer for the whole link (expires old keys); never a timer per session. */
export const housekeepingIntervalMs = 10_000;
