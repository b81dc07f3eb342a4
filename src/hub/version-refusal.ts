// What the hub answers a REGISTER of another protocol version (wire/control.ts PROTOCOL_VERSION):
// one REGISTER_REFUSED the peer can print, in a vocabulary it decodes. Used by hub/server.ts.
import { PROTOCOL_VERSION, RefusalReason } from '../wire/control.js';

export interface VersionRefusal {
  reason: RefusalReason;
  text: string;
}

/** A protocol-1 peer knows no VERSION reason (its decoder drops a reason it does not know), so it
 * gets BAD_REQUEST; every later version decodes VERSION. */
export function versionRefusal(peerVersion: number): VersionRefusal {
  const text = `protocol version ${peerVersion} refused: this hub speaks protocol version ${PROTOCOL_VERSION}; run the same meshd release on hub and peers`;
  return { reason: peerVersion <= 1 ? RefusalReason.BAD_REQUEST : RefusalReason.VERSION, text };
}
