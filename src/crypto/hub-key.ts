// HUB_KEY_REQ / HUB_KEY_RESP MACs (PROTOCOL.md): a peer that knows the network secret learns the
// hub's static key on first contact (then pins it). Used by src/link (hub answers, peer asks).
import { createHmac, randomBytes } from 'node:crypto';
import { bytesEqual } from '../util/bytes.js';
import {
  HUB_KEY_MAC_SIZE,
  HUB_KEY_NONCE_SIZE,
  HUB_KEY_REQ_MAC_OFFSET,
  HUB_KEY_RESP_MAC_OFFSET,
  HUB_KEY_REQ_SIZE,
  HUB_KEY_RESP_SIZE,
  encodeHubKeyReq,
  encodeHubKeyResp,
} from '../wire/hub-key.js';
import { MessageType } from '../wire/outer.js';

const LABEL_REQ = Buffer.from('meshd hub-key req');
const LABEL_RESP = Buffer.from('meshd hub-key resp');

function mac(psk: Uint8Array, label: Uint8Array, covered: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', psk).update(label).update(covered).digest().subarray(0, HUB_KEY_MAC_SIZE));
}

function framed(d: Uint8Array, type: MessageType, size: number): boolean {
  return d.byteLength === size && d[0] === type && d[1] === 0 && d[2] === 0 && d[3] === 0;
}

/** Builds a HUB_KEY_REQ; keep `nonce` to match the response. `nonce` is injectable for tests. */
export function buildHubKeyRequest(psk: Uint8Array, nonce: Uint8Array = new Uint8Array(randomBytes(HUB_KEY_NONCE_SIZE))): { message: Uint8Array; nonce: Uint8Array } {
  const message = encodeHubKeyReq({ nonce, mac: new Uint8Array(HUB_KEY_MAC_SIZE) });
  message.set(mac(psk, LABEL_REQ, message.subarray(0, HUB_KEY_REQ_MAC_OFFSET)), HUB_KEY_REQ_MAC_OFFSET);
  return { message, nonce };
}

/** Hub side: the request's nonce when its MAC verifies, else undefined (send nothing back). */
export function verifyHubKeyRequest(psk: Uint8Array, message: Uint8Array): Uint8Array | undefined {
  if (!framed(message, MessageType.HubKeyReq, HUB_KEY_REQ_SIZE)) return undefined;
  const want = mac(psk, LABEL_REQ, message.subarray(0, HUB_KEY_REQ_MAC_OFFSET));
  return bytesEqual(want, message.subarray(HUB_KEY_REQ_MAC_OFFSET)) ? message.slice(4, 16) : undefined;
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
