// HUB_KEY_REQ / HUB_KEY_RESP MACs (PROTOCOL.md): a peer that knows the network secret learns the
// hub's static key on first contact (then pins it). Used by src/link (hub answers, peer asks).
// The request carries the sender's wall clock; the hub refuses one outside HUB_KEY_MAX_CLOCK_SKEW_MS
// and answers each request at most once (src/link/hub-key-gate.ts), so a captured copy is worthless.
import { createHmac, randomBytes } from 'node:crypto';
import { bytesEqual } from '../util/bytes.js';
import {
  HUB_KEY_MAC_SIZE,
  HUB_KEY_NONCE_SIZE,
  HUB_KEY_REQ_MAC_OFFSET,
  HUB_KEY_REQ_NONCE_OFFSET,
  HUB_KEY_REQ_PAD_OFFSET,
  HUB_KEY_RESP_MAC_OFFSET,
  HUB_KEY_REQ_SIZE,
  HUB_KEY_RESP_SIZE,
  encodeHubKeyReq,
  encodeHubKeyResp,
  hubKeyReqTimestampMs,
} from '../wire/hub-key.js';
import { MessageType } from '../wire/outer.js';
import { HANDSHAKE_MAX_CLOCK_SKEW_MS } from './constants.js';

const LABEL_REQ = Buffer.from('meshd hub-key req v2');
const LABEL_RESP = Buffer.from('meshd hub-key resp');

/** Protocol (hub only, but peers must keep clocks within it): a HUB_KEY_REQ whose timestamp is
 * further than this from the hub's wall clock is ignored. The handshake's bound, so one rule holds:
 * a node whose clock is within 3 minutes can both learn the key and handshake. */
export const HUB_KEY_MAX_CLOCK_SKEW_MS = HANDSHAKE_MAX_CLOCK_SKEW_MS;

function mac(psk: Uint8Array, label: Uint8Array, covered: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', psk).update(label).update(covered).digest().subarray(0, HUB_KEY_MAC_SIZE));
}

function framed(d: Uint8Array, type: MessageType, size: number): boolean {
  return d.byteLength === size && d[0] === type && d[1] === 0 && d[2] === 0 && d[3] === 0;
}

/** Builds a HUB_KEY_REQ stamped with `wallMs`; keep `nonce` to match the response. `nonce` is
 * injectable for tests. */
export function buildHubKeyRequest(
  psk: Uint8Array,
  wallMs: number,
  nonce: Uint8Array = new Uint8Array(randomBytes(HUB_KEY_NONCE_SIZE)),
): { message: Uint8Array; nonce: Uint8Array } {
  const message = encodeHubKeyReq({ timestampMs: Math.max(0, Math.floor(wallMs)), nonce, mac: new Uint8Array(HUB_KEY_MAC_SIZE) });
  message.set(mac(psk, LABEL_REQ, message.subarray(0, HUB_KEY_REQ_MAC_OFFSET)), HUB_KEY_REQ_MAC_OFFSET);
  return { message, nonce };
}

/** The request's timestamp when it is framed (type, reserved bytes, size), else undefined. Read
 * before the MAC so a stale copy costs no HMAC. */
export function hubKeyRequestTimestamp(message: Uint8Array): number | undefined {
  return framed(message, MessageType.HubKeyReq, HUB_KEY_REQ_SIZE) ? hubKeyReqTimestampMs(message) : undefined;
}

/** Pure: whether a request stamped `timestampMs` is fresh at the hub's wall clock `wallMs`. */
export function hubKeyRequestFresh(timestampMs: number, wallMs: number, maxSkewMs = HUB_KEY_MAX_CLOCK_SKEW_MS): boolean {
  return Math.abs(timestampMs - wallMs) <= maxSkewMs;
}

/** Hub side: the request's nonce when its MAC verifies (and the padding is zero), else undefined
 * (send nothing back). Freshness and replay are the caller's (hub-key-gate.ts). */
export function verifyHubKeyRequest(psk: Uint8Array, message: Uint8Array): Uint8Array | undefined {
  if (!framed(message, MessageType.HubKeyReq, HUB_KEY_REQ_SIZE)) return undefined;
  for (let i = HUB_KEY_REQ_PAD_OFFSET; i < HUB_KEY_REQ_MAC_OFFSET; i++) if (message[i] !== 0) return undefined;
  const want = mac(psk, LABEL_REQ, message.subarray(0, HUB_KEY_REQ_MAC_OFFSET));
  return bytesEqual(want, message.subarray(HUB_KEY_REQ_MAC_OFFSET)) ? message.slice(HUB_KEY_REQ_NONCE_OFFSET, HUB_KEY_REQ_PAD_OFFSET) : undefined;
}

/** Hub side: the response carrying our static public key, echoing the request nonce. */
export function buildHubKeyResponse(psk: Uint8Array, nonce: Uint8Array, hubStatic: Uint8Array): Uint8Array {
  const message = encodeHubKeyResp({ nonce, hubStatic, mac: new Uint8Array(HUB_KEY_MAC_SIZE) });
  message.set(mac(psk, LABEL_RESP, message.subarray(0, HUB_KEY_RESP_MAC_OFFSET)), HUB_KEY_RESP_MAC_OFFSET);
  return message;
}

/** Peer side: the hub's static key when the MAC verifies and the nonce is the one we sent. */
export function verifyHubKeyResponse(psk: Uint8Array, message: Uint8Array, nonce: Uint8Array): Uint8Array | undefined {
  if (!framed(message, MessageType.HubKeyResp, HUB_KEY_RESP_SIZE)) return undefined;
  const want = mac(psk, LABEL_RESP, message.subarray(0, HUB_KEY_RESP_MAC_OFFSET));
  if (!bytesEqual(want, message.subarray(HUB_KEY_RESP_MAC_OFFSET))) return undefined;
  if (!bytesEqual(message.subarray(4, 16), nonce)) return undefined;
  return message.slice(16, 48);
}
