// When our handshake retries (initiator.ts): the decision alone, a pure function of the attempt
// count, whether it is a rekey of a working session, and whether the remote said it is loaded.
import * as C from './constants.js';

/**
 * Milliseconds from attempt `attempts` (1 = the first initiation) to the next, before jitter.
 * - A first handshake retries fast (registration and punching wait on it): 1, 2, 4 s, then 5 s.
 * - A rekey of a working session waits REKEY_TIMEOUT (5 s), as WireGuard does.
 * - A remote that answered this handshake with a cookie reply (under load, or its DH backlog full)
 *   is retried with the backoff doubling on to handshakeLoadedMaxRetryMs: a starved responder that
 *   refuses initiations sees fewer of them instead of a retry every 5 s from each of its peers.
 */
export function handshakeRetryDelayMs(attempts: number, rekey: boolean, remoteLoaded: boolean): number {
  const first = rekey ? C.handshakeMaxRetryMs : C.handshakeFirstRetryMs;
  const cap = remoteLoaded ? C.handshakeLoadedMaxRetryMs : C.handshakeMaxRetryMs;
  return Math.min(first * 2 ** Math.max(0, attempts - 1), cap);
}
