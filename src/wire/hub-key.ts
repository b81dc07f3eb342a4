// Codec of HUB_KEY_REQ / HUB_KEY_RESP (PROTOCOL.md): how a peer learns the hub's static key on
// first contact. The MACs are computed and checked in src/crypto/hub-key.ts.
//
// HUB_KEY_REQ (type 5), 64 bytes          HUB_KEY_RESP (type 6), 64 bytes
//   0  type=5 | 0 | 0 | 0                   0   type=6 | 0 | 0 | 0
//   4  timestamp u64 BE (unix ms) [8]       4   nonce [12] (echoed)
//   12 nonce [12]                           16  hub_static_public [32]
//   24 zero padding [24]                    48  mac [16]
//   48 mac [16]
// The request is padded to the response's size so the hub never sends more bytes than it got
// (no reflection gain); the timestamp lets the hub refuse old copies (freshness, PROTOCOL.md).
import { DecodeError } from '../util/errors.js';
import { checkFixedHeader, HUB_KEY_REQ_SIZE, HUB_KEY_RESP_SIZE, MessageType, putField } from './outer.js';

export { HUB_KEY_REQ_SIZE, HUB_KEY_RESP_SIZE };
export const HUB_KEY_NONCE_SIZE = 12;
export const HUB_KEY_MAC_SIZE = 16;
export const HUB_KEY_REQ_TIMESTAMP_OFFSET = 4;
export const HUB_KEY_REQ_NONCE_OFFSET = 12;
export const HUB_KEY_REQ_PAD_OFFSET = 24;
export const HUB_KEY_REQ_MAC_OFFSET = 48;
export const HUB_KEY_RESP_MAC_OFFSET = 48;

export interface HubKeyReq {
  /** Sender's wall clock, unix ms (a safe integer). */
  timestampMs: number;
  nonce: Uint8Array; // 12
  mac: Uint8Array; // 16
}

export interface HubKeyResp {
  nonce: Uint8Array; // 12
  hubStatic: Uint8Array; // 32
  mac: Uint8Array; // 16
}

export function encodeHubKeyReq(m: HubKeyReq): Uint8Array {
  if (!Number.isSafeInteger(m.timestampMs) || m.timestampMs < 0) throw new RangeError('timestampMs must be a non-negative safe integer');
  const out = new Uint8Array(HUB_KEY_REQ_SIZE);
  out[0] = MessageType.HubKeyReq;
  new DataView(out.buffer).setBigUint64(HUB_KEY_REQ_TIMESTAMP_OFFSET, BigInt(m.timestampMs));
  putField(out, HUB_KEY_REQ_NONCE_OFFSET, m.nonce, HUB_KEY_NONCE_SIZE, 'nonce');
  putField(out, HUB_KEY_REQ_MAC_OFFSET, m.mac, HUB_KEY_MAC_SIZE, 'mac');
  return out;
}

/** The timestamp of a request of the right size, read without allocating (the hub checks it before
 * the MAC, so a stale copy costs no HMAC); a value past 2^53 reads as Infinity (stale). */
export function hubKeyReqTimestampMs(d: Uint8Array): number {
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength).getBigUint64(HUB_KEY_REQ_TIMESTAMP_OFFSET);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
}

export function decodeHubKeyReq(d: Uint8Array): HubKeyReq {
  checkFixedHeader(d, MessageType.HubKeyReq, HUB_KEY_REQ_SIZE, 'HUB_KEY_REQ');
  const timestampMs = hubKeyReqTimestampMs(d);
  if (!Number.isFinite(timestampMs)) throw new DecodeError('HUB_KEY_REQ: timestamp out of range');
  for (let i = HUB_KEY_REQ_PAD_OFFSET; i < HUB_KEY_REQ_MAC_OFFSET; i++) if (d[i] !== 0) throw new DecodeError('HUB_KEY_REQ: padding not zero');
  return { timestampMs, nonce: d.slice(HUB_KEY_REQ_NONCE_OFFSET, HUB_KEY_REQ_PAD_OFFSET), mac: d.slice(HUB_KEY_REQ_MAC_OFFSET, HUB_KEY_REQ_SIZE) };
}

export function encodeHubKeyResp(m: HubKeyResp): Uint8Array {
  const out = new Uint8Array(HUB_KEY_RESP_SIZE);
  out[0] = MessageType.HubKeyResp;
  putField(out, 4, m.nonce, HUB_KEY_NONCE_SIZE, 'nonce');
  putField(out, 16, m.hubStatic, 32, 'hubStatic');
  putField(out, 48, m.mac, HUB_KEY_MAC_SIZE, 'mac');
  return out;
}

export function decodeHubKeyResp(d: Uint8Array): HubKeyResp {
  checkFixedHeader(d, MessageType.HubKeyResp, HUB_KEY_RESP_SIZE, 'HUB_KEY_RESP');
  return { nonce: d.slice(4, 16), hubStatic: d.slice(16, 48), mac: d.slice(48, 64) };
}
