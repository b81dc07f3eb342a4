// Outer message types (PROTOCOL.md "Outer messages"): every UDP datagram starts with
// `type u8, reserved u8[3] = 0`. messageTypeOf is the first, cheap classification on the receive
// path (src/link): no allocation, checks reserved bytes and sizes only.
//
//     0      1      2      3      4 ...
//     +------+------+------+------+------------------
//     | type |  0   |  0   |  0   | type-specific body
//     +------+------+------+------+------------------

import { DecodeError } from '../util/errors.js';

export enum MessageType {
  HandshakeInit = 1,
  HandshakeResp = 2,
  CookieReply = 3,
  Transport = 4,
  HubKeyReq = 5,
  HubKeyResp = 6,
  /** Invites (wire/invite.ts): redemption before the peer holds the network psk. */
  JoinInit = 7,
  JoinResp = 8,
  JoinRefused = 9,
}

export const messageTypeName: Readonly<Record<MessageType, string>> = {
  [MessageType.HandshakeInit]: 'HANDSHAKE_INIT',
  [MessageType.HandshakeResp]: 'HANDSHAKE_RESP',
  [MessageType.CookieReply]: 'COOKIE_REPLY',
  [MessageType.Transport]: 'TRANSPORT',
  [MessageType.HubKeyReq]: 'HUB_KEY_REQ',
  [MessageType.HubKeyResp]: 'HUB_KEY_RESP',
  [MessageType.JoinInit]: 'JOIN_INIT',
  [MessageType.JoinResp]: 'JOIN_RESP',
  [MessageType.JoinRefused]: 'JOIN_REFUSED',
};

export const OUTER_HEADER_SIZE = 4;
export const HANDSHAKE_INIT_SIZE = 148;
export const HANDSHAKE_RESP_SIZE = 92;
/** Smaller than the HANDSHAKE_INIT it answers: a responder never amplifies a spoofed initiation. */
export const COOKIE_REPLY_SIZE = 64;
export const TRANSPORT_HEADER_SIZE = 16;
export const TRANSPORT_TAG_SIZE = 16;
/** Header plus tag: an empty plaintext (used by nobody, since KEEPALIVE has a kind byte) is 32. */
export const TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + TRANSPORT_TAG_SIZE;
/** Transport overhead on top of the plaintext. */
export const TRANSPORT_OVERHEAD = TRANSPORT_HEADER_SIZE + TRANSPORT_TAG_SIZE;
/** Padded to HUB_KEY_RESP_SIZE: the hub answers no more bytes than it received. */
export const HUB_KEY_REQ_SIZE = 64;
export const HUB_KEY_RESP_SIZE = 64;
/** Invites (wire/invite.ts, which holds the layouts): JOIN_INIT is padded to the most a JOIN_RESP takes. */
export const JOIN_INIT_SIZE = 256;
export const JOIN_REFUSED_SIZE = 32;

/** The message type of a datagram, or undefined when the type is unknown, a reserved byte is not
 * zero or the size cannot be right for the type. Decoders still check everything. */
export function messageTypeOf(d: Uint8Array): MessageType | undefined {
  const n = d.byteLength;
  if (n < TRANSPORT_MIN_SIZE || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) return undefined;
  switch (d[0]) {
    case MessageType.Transport:
      return MessageType.Transport;
    case MessageType.HandshakeInit:
      return n === HANDSHAKE_INIT_SIZE ? MessageType.HandshakeInit : undefined;
    case MessageType.HandshakeResp:
      return n === HANDSHAKE_RESP_SIZE ? MessageType.HandshakeResp : undefined;
    case MessageType.CookieReply:
      return n === COOKIE_REPLY_SIZE ? MessageType.CookieReply : undefined;
    case MessageType.HubKeyReq:
      return n === HUB_KEY_REQ_SIZE ? MessageType.HubKeyReq : undefined;
    case MessageType.HubKeyResp:
      return n === HUB_KEY_RESP_SIZE ? MessageType.HubKeyResp : undefined;
    case MessageType.JoinInit:
      return n === JOIN_INIT_SIZE ? MessageType.JoinInit : undefined;
    case MessageType.JoinResp:
      return n >= 4 + HANDSHAKE_RESP_SIZE + TRANSPORT_MIN_SIZE && n <= JOIN_INIT_SIZE ? MessageType.JoinResp : undefined;
    case MessageType.JoinRefused:
      return n === JOIN_REFUSED_SIZE ? MessageType.JoinRefused : undefined;
    default:
      return undefined;
  }
}

/** Name of a type for logs ("TYPE_7" for an unknown one). */
export function typeNameOf(t: number): string {
  return messageTypeName[t as MessageType] ?? `TYPE_${t}`;
}

/** Copies a fixed-size field into an encoded message; a wrong size is a caller bug (RangeError). */
export function putField(out: Uint8Array, at: number, field: Uint8Array, size: number, name: string): void {
  if (field.byteLength !== size) throw new RangeError(`${name} must be ${size} bytes`);
  out.set(field, at);
}

/** Checks a fixed-size outer message: exact length, its type, zero reserved bytes (DecodeError). */
export function checkFixedHeader(d: Uint8Array, type: MessageType, size: number, name: string): void {
  if (d.byteLength !== size) throw new DecodeError(`${name}: ${d.byteLength} bytes, want ${size}`);
  if (d[0] !== type || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) throw new DecodeError(`${name}: bad type or reserved bytes`);
}
