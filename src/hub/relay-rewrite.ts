// The hub's relay turns a RELAY_TO into the RELAY_FROM it sends without copying the datagram
// (issue 19 item 6: the relay path's CPU): both are kind | overlay u32 BE | datagram (wire/inner.ts),
// so the plaintext the link opened (a fresh buffer the hub owns) is rewritten in place. Used by
// hub/server.ts onRelay; the bytes are those encodeInner gives (test/hub/relay-rewrite.test.ts).
import { InnerKind, RELAY_HEADER_BYTES, writeRelayHeader } from '../wire/inner.js';

/**
 * Rewrites `relayTo` (a whole RELAY_TO plaintext the caller owns and will not read again) into the
 * RELAY_FROM from `senderOverlay` carrying the same datagram, and returns it (the same buffer).
 * Throws RangeError for a buffer that is not a RELAY_TO (a caller bug: decodeInner checked it).
 */
export function relayFromInPlace(relayTo: Uint8Array, senderOverlay: number): Uint8Array {
  if (relayTo.byteLength < RELAY_HEADER_BYTES || relayTo[0] !== InnerKind.RELAY_TO) throw new RangeError('relayFromInPlace: not a RELAY_TO');
  writeRelayHeader(relayTo, InnerKind.RELAY_FROM, senderOverlay);
  return relayTo;
}
