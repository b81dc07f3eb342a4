// What a PING says about its sender's hub leg (PING_FLAG_STREAM_LEG, wire/inner.ts), so each end of a
// relayed pair knows whether the other rides a TCP/TLS leg (issue 21's gap: the map does not carry
// it). Every PING we send states our leg; node.ts sends one to each peer with a session when our leg
// switches; the latest PING from a peer is its statement (an older peer never sets the bit: read as
// UDP, the old assumption). Pure: node.ts calls these; pair-transport.ts reads `peer.peerLeg`.
import { PING_FLAG_STREAM_LEG } from '../wire/inner.js';
import type { HubLeg } from './transport-choice.js';

/** The flag for a PING we send while our hub leg is `leg`. */
export function legPingFlag(leg: HubLeg | undefined): number {
  return leg === 'tcp' || leg === 'tls' ? PING_FLAG_STREAM_LEG : 0;
}

/** The remote's hub leg as its PING states it: 'tcp' stands for either stream (TCP or TLS: both are
 * reliable, which is all the decision needs), 'udp' for UDP or a peer that does not say. */
export function legOfPing(flags: number): HubLeg {
  return (flags & PING_FLAG_STREAM_LEG) !== 0 ? 'tcp' : 'udp';
}
