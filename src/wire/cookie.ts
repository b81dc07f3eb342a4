// Codec of COOKIE_REPLY (PROTOCOL.md "Cookie replies"): what a responder under load sends instead of
// doing the Diffie-Hellman for an initiation without a valid mac2. The cryptography (the cookie, its
// encryption, mac2) is in src/crypto/cookie.ts; this file only lays bytes out and checks lengths.
//
// COOKIE_REPLY (type 3), 64 bytes (the HANDSHAKE_INIT it answers is 148: no amplification)
//   0   type=3 | 0 | 0 | 0
//   4   receiver_index u32 LE        the initiation's sender_index
//   8   nonce [24]                   random
//   32  encrypted_cookie [16+16]     the 16-byte cookie, AEAD-sealed, aad = the initiation's mac1
import { viewOf } from '../util/bytes.js';
import { checkFixedHeader, COOKIE_REPLY_SIZE, MessageType, putField } from './outer.js';

export { COOKIE_REPLY_SIZE };
export const COOKIE_SIZE = 16;
export const COOKIE_NONCE_SIZE = 24;
export const COOKIE_NONCE_OFFSET = 8;
export const COOKIE_SEALED_OFFSET = 32;
export const COOKIE_SEALED_SIZE = COOKIE_SIZE + 16;

export interface CookieReply {
  receiverIndex: number;
  nonce: Uint8Array; // 24
  encryptedCookie: Uint8Array; // 32
}

export function encodeCookieReply(m: CookieReply): Uint8Array {
  const out = new Uint8Array(COOKIE_REPLY_SIZE);
  out[0] = MessageType.CookieReply;
  viewOf(out).setUint32(4, m.receiverIndex >>> 0, true);
  putField(out, COOKIE_NONCE_OFFSET, m.nonce, COOKIE_NONCE_SIZE, 'nonce');
  putField(out, COOKIE_SEALED_OFFSET, m.encryptedCookie, COOKIE_SEALED_SIZE, 'encryptedCookie');
  return out;
}

/** Decodes a COOKIE_REPLY; fields are copies. */
export function decodeCookieReply(d: Uint8Array): CookieReply {
  checkFixedHeader(d, MessageType.CookieReply, COOKIE_REPLY_SIZE, 'COOKIE_REPLY');
  return {
    receiverIndex: viewOf(d).getUint32(4, true),
    nonce: d.slice(COOKIE_NONCE_OFFSET, COOKIE_SEALED_OFFSET),
    encryptedCookie: d.slice(COOKIE_SEALED_OFFSET, COOKIE_REPLY_SIZE),
  };
}

/** The receiver_index of a COOKIE_REPLY (to find the pending initiation); no checks but length. */
export function cookieReplyReceiverIndex(d: Uint8Array): number | undefined {
  return d.byteLength === COOKIE_REPLY_SIZE ? viewOf(d).getUint32(4, true) : undefined;
}
