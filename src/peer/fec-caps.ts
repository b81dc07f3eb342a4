// Which remote peers speak FEC (inner kinds 5 and 6), learned from PING flags, so a peer never sends
// them to an older one (which would drop them as malformed). A PING with PING_FLAG_FEC says "I speak
// FEC"; PING_FLAG_FEC_ASK adds "and I do not know yet whether you do: answer with a flagged PING".
// node.ts sets the flags on every PING it sends (punch, keepalive, user) and asks each peer whose
// capability it lacks every capsAskIntervalMs over its current path (relayed pairs send no punch
// PINGs). Pure: node.ts calls these; the data path reads `peer.caps`.
import { PING_FLAG_FEC, PING_FLAG_FEC_ASK } from '../wire/inner.js';

/** Capability bits on RemotePeer.caps (local). */
export const PEER_CAP_FEC = 1;

/** Local tuning: how often a peer whose capability is unknown is asked (one 10-byte PING). */
export const capsAskIntervalMs = 5_000;

/** The FEC flags for a PING to a peer with capability bits `caps`. */
export function fecPingFlags(caps: number): number {
  return (caps & PEER_CAP_FEC) !== 0 ? PING_FLAG_FEC : PING_FLAG_FEC | PING_FLAG_FEC_ASK;
}

/** A PING with `flags` arrived from a peer with `caps`: its new caps, and whether to answer with a
 * flagged PING (it asked; the answer does not ask again, so the exchange ends). */
export function onPingFlags(caps: number, flags: number): { caps: number; answer: boolean } {
  if ((flags & PING_FLAG_FEC) === 0) return { caps, answer: false };
  return { caps: caps | PEER_CAP_FEC, answer: (flags & PING_FLAG_FEC_ASK) !== 0 };
}
