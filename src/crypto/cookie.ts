// Cookie replies (WireGuard whitepaper 5.4.7, adapted; PROTOCOL.md "Cookie replies"): a responder
// under load answers an initiation whose mac2 does not prove its source address with a COOKIE_REPLY
// instead of doing the Diffie-Hellman; the initiator puts mac2 = MAC(cookie, ...) on its next
// initiation. Pure: time comes in as `nowMs`, randomness is injectable. Used by src/link (both roles).
//
//   initiator                                       responder (under load)
//   INIT, mac2 zero or stale               ---->    checkMac2 fails: no DH
//                                          <----    COOKIE_REPLY(sender_index, nonce, sealed cookie)
//   openCookieReply(reply, mac1 we sent) -> cookie, kept COOKIE_LIFETIME_MS
//   next INIT (on its usual retry timer),
//   mac2 = MAC(cookie, bytes 0..132)       ---->    checkMac2 ok: per-IP limit, then the DH
import { randomBytes } from 'node:crypto';
import { bytesEqual } from '../util/bytes.js';
import { COOKIE_NONCE_OFFSET, COOKIE_NONCE_SIZE, COOKIE_REPLY_SIZE, COOKIE_SEALED_OFFSET, COOKIE_SIZE, encodeCookieReply } from '../wire/cookie.js';
import { HANDSHAKE_INIT_SIZE, INIT_MAC1_OFFSET, INIT_MAC2_OFFSET, MAC_SIZE } from '../wire/handshake.js';
import { MessageType } from '../wire/outer.js';
import { NODE_NOISE, type Noise } from './noise.js';

/** Responder only: the cookie secret is replaced this often (WireGuard's COOKIE_REFRESH_TIME), so a
 * cookie proves an address for minutes, not forever. */
export const COOKIE_SECRET_ROTATE_MS = 120_000;
/** Responder only: after a rotation the previous secret is still accepted this long, so a cookie
 * issued just before it serves the initiator's next retry (5 s + jitter at most); then refused. */
export const COOKIE_SECRET_GRACE_MS = 10_000;
/** Initiator only: a received cookie is used on initiations for this long (the secret's life). */
export const COOKIE_LIFETIME_MS = 120_000;
export const COOKIE_SECRET_SIZE = 32;
/** Local tuning: reply nonces are cut from one random draw of this many bytes (a randomBytes call
 * per reply cost ~6 us, a quarter of the reply). */
const NONCE_POOL_BYTES = COOKIE_NONCE_SIZE * 256;

const LABEL_COOKIE = new TextEncoder().encode('cookie--');

/**
 * Key of the COOKIE_REPLY sent by `responderStatic`: HASH("cookie--" || psk || responder_static).
 * WireGuard keys it with the responder's public key alone; adding the psk means a node without the
 * network secret can neither read a cookie nor forge a reply (as with mac1).
 */
export function cookieReplyKey(psk: Uint8Array, responderStatic: Uint8Array, n: Noise = NODE_NOISE): Uint8Array {
  return n.hash(LABEL_COOKIE, psk, responderStatic);
}

/**
 * Why this AEAD: WireGuard seals the cookie with XChaCha20-Poly1305 and a random 24-byte nonce,
 * because one long-lived key seals every reply. node:crypto has no XChaCha20, and a random 96-bit
 * nonce under one key reaches the birthday bound after ~2^32 replies (12 h of a 100,000/s flood);
 * a repeated nonce leaks the XOR of two cookies and that nonce's Poly1305 key. So we build the
 * extended nonce the way XChaCha does: a PRF of the key and the 24-byte random nonce gives a one-time
 * key (HChaCha20 there, HMAC-BLAKE2s here, our Noise HMAC), sealed with ChaCha20-Poly1305 at nonce
 * 0, as the handshake seals with each of its one-time keys. Costs one extra HMAC.
 */
function oneTimeKey(n: Noise, replyKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return n.hmac(replyKey, nonce);
}

/** The 16-byte mac1 of an initiation: the AAD of its cookie reply (binds the reply to it). */
export function initiationMac1(initiation: Uint8Array): Uint8Array {
  return initiation.subarray(INIT_MAC1_OFFSET, INIT_MAC1_OFFSET + MAC_SIZE);
}

/** mac2 of an initiation: HMAC-BLAKE2s(cookie, bytes 0..132)[0..16]. */
export function mac2Of(cookie: Uint8Array, initiation: Uint8Array, n: Noise = NODE_NOISE): Uint8Array {
  return n.hmac(cookie, initiation.subarray(0, INIT_MAC2_OFFSET)).subarray(0, MAC_SIZE);
}

/** Initiator: sets mac2 of a built initiation (mac1 does not cover mac2, so it stays valid). */
export function writeMac2(initiation: Uint8Array, cookie: Uint8Array, n: Noise = NODE_NOISE): void {
  initiation.set(mac2Of(cookie, initiation, n), INIT_MAC2_OFFSET);
}

/** Builds a COOKIE_REPLY (exported for golden tests; responders use CookieChecker.createReply). */
export function sealCookieReply(replyKey: Uint8Array, receiverIndex: number, cookie: Uint8Array, mac1: Uint8Array, nonce: Uint8Array, n: Noise = NODE_NOISE): Uint8Array {
  return encodeCookieReply({ receiverIndex, nonce, encryptedCookie: n.aeadSeal(oneTimeKey(n, replyKey, nonce), 0, cookie, mac1) });
}

/** Initiator: the cookie of a COOKIE_REPLY, or undefined when it is not one or does not
 * authenticate under `replyKey` with the mac1 we sent (the caller matched receiver_index). */
export function openCookieReply(replyKey: Uint8Array, reply: Uint8Array, mac1: Uint8Array, n: Noise = NODE_NOISE): Uint8Array | undefined {
  if (reply.byteLength !== COOKIE_REPLY_SIZE || reply[0] !== MessageType.CookieReply || reply[1] !== 0 || reply[2] !== 0 || reply[3] !== 0) return undefined;
  const nonce = reply.subarray(COOKIE_NONCE_OFFSET, COOKIE_NONCE_OFFSET + COOKIE_NONCE_SIZE);
  const cookie = n.aeadOpen(oneTimeKey(n, replyKey, nonce), 0, reply.subarray(COOKIE_SEALED_OFFSET), mac1);
  return cookie?.byteLength === COOKIE_SIZE ? cookie : undefined;
}

export interface CookieCheckerOptions {
  /** Random bytes for secrets and nonces (tests inject a seeded source). */
  random?: (n: number) => Uint8Array;
  /** The primitives' backend (noise.ts); absent: node:crypto. */
  noise?: Noise;
}

/**
 * The responder side: a secret rotated every COOKIE_SECRET_ROTATE_MS (lazily, on use), the cookie
 * of a source address under it, the mac2 check and the reply. `source` is the sender's address as
 * the responder saw it, in bytes (src/link encodes IP and port); it is only ever MACed.
 */
export class CookieChecker {
  private readonly replyKey: Uint8Array;
  private readonly random: (n: number) => Uint8Array;
  private readonly n: Noise;
  private current: Uint8Array;
  private currentBornMs: number;
  private previous: Uint8Array | undefined;
  /** When `previous` was due to retire (its birth + COOKIE_SECRET_ROTATE_MS). */
  private previousRetiredMs = -Infinity;
  private noncePool: Uint8Array = new Uint8Array(0);
  private nonceAt = 0;

  constructor(psk: Uint8Array, ownStatic: Uint8Array, nowMs: number, opts: CookieCheckerOptions = {}) {
    this.n = opts.noise ?? NODE_NOISE;
    this.replyKey = cookieReplyKey(psk, ownStatic, this.n);
    this.random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.current = this.random(COOKIE_SECRET_SIZE);
    this.currentBornMs = nowMs;
  }

  private rotate(nowMs: number): void {
    if (nowMs - this.currentBornMs < COOKIE_SECRET_ROTATE_MS) return;
    this.previous = this.current;
    // Due at birth + rotate even if nobody asked since: an idle checker does not stretch the grace.
    this.previousRetiredMs = this.currentBornMs + COOKIE_SECRET_ROTATE_MS;
    this.current = this.random(COOKIE_SECRET_SIZE);
    this.currentBornMs = nowMs;
  }

  /** The cookie for `source` under the current secret: HMAC-BLAKE2s(secret, source)[0..16]. */
  cookie(source: Uint8Array, nowMs: number): Uint8Array {
    this.rotate(nowMs);
    return this.n.hmac(this.current, source).subarray(0, COOKIE_SIZE);
  }

  /** True when the initiation's mac2 was made with the cookie of `source`, under the current secret
   * or, within COOKIE_SECRET_GRACE_MS of its retirement, the previous one. A zero mac2 is missing. */
  checkMac2(initiation: Uint8Array, source: Uint8Array, nowMs: number): boolean {
    if (initiation.byteLength !== HANDSHAKE_INIT_SIZE) return false;
    const mac2 = initiation.subarray(INIT_MAC2_OFFSET, INIT_MAC2_OFFSET + MAC_SIZE);
    if (mac2.every((b) => b === 0)) return false;
    if (bytesEqual(mac2Of(this.cookie(source, nowMs), initiation, this.n), mac2)) return true;
    if (this.previous === undefined || nowMs - this.previousRetiredMs >= COOKIE_SECRET_GRACE_MS) return false;
    return bytesEqual(mac2Of(this.n.hmac(this.previous, source).subarray(0, COOKIE_SIZE), initiation, this.n), mac2);
  }

  /** The COOKIE_REPLY for an initiation from `source` (64 bytes, no DH). */
  createReply(initiation: Uint8Array, source: Uint8Array, nowMs: number): Uint8Array {
    const senderIndex = new DataView(initiation.buffer, initiation.byteOffset, initiation.byteLength).getUint32(4, true);
    return sealCookieReply(this.replyKey, senderIndex, this.cookie(source, nowMs), initiationMac1(initiation), this.nextNonce(), this.n);
  }

  /** 24 fresh random bytes; each slice of the pool is used once. */
  private nextNonce(): Uint8Array {
    if (this.nonceAt + COOKIE_NONCE_SIZE > this.noncePool.byteLength) {
      this.noncePool = this.random(NONCE_POOL_BYTES);
      this.nonceAt = 0;
    }
    const nonce = this.noncePool.subarray(this.nonceAt, this.nonceAt + COOKIE_NONCE_SIZE);
    this.nonceAt += COOKIE_NONCE_SIZE;
    return nonce;
  }
}
