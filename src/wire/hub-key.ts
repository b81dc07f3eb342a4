// Codec of HUB_KEY_REQ / HUB_KEY_RESP (PROTOCOL.md): how a peer learns the hub's static key on
// first contact. The MACs are computed and checked in src/crypto/hub-key.ts.
//
// HUB_KEY_REQ (type 5), 32 bytes       HUB_KEY_RESP (type 6), 64 bytes
//   0  type=5 | 0 | 0 | 0                0   type=6 | 0 | 0 | 0
//   4  nonce [12]                        4   nonce [12] (echoed)
//   16 mac [16]                          16  hub_static_public [32]
//                                        48  mac [16]
import { DecodeError } from '../util/errors.js';
import { HUB_KEY_REQ_SIZE, HUB_KEY_RESP_SIZE, MessageType } from './outer.js';

export { HUB_KEY_REQ_SIZE, HUB_KEY_RESP_SIZE };
export const HUB_KEY_NONCE_SIZE = 12;
export const HUB_KEY_MAC_SIZE = 16;
export const HUB_KEY_REQ_MAC_OFFSET = 16;
export const HUB_KEY_RESP_MAC_OFFSET = 48;

export interface HubKeyReq {
  nonce: Uint8Array; // 12
  mac: Uint8Array; // 16
}

export interface HubKeyResp {
  nonce: Uint8Array; // 12
  hubStatic: Uint8Array; // 32
  mac: Uint8Array; // 16
}

function put(out: Uint8Array, at: number, field: Uint8Array, size: number, name: string): void {
  if (field.byteLength !== size) throw new RangeError(`${name} must be ${size} bytes`);
  out.set(field, at);
}

function header(d: Uint8Array, type: MessageType, size: number, name: string): void {
  if (d.byteLength !== size) throw new DecodeError(`${name}: ${d.byteLength} bytes, want ${size}`);
  if (d[0] !== type || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) throw new DecodeError(`${name}: bad type or reserved bytes`);
}

export function encodeHubKeyReq(m: HubKeyReq): Uint8Array {
  const out = new Uint8Array(HUB_KEY_REQ_SIZE);
  out[0] = MessageType.HubKeyReq;
  put(out, 4, m.nonce, HUB_KEY_NONCE_SIZE, 'nonce');
  put(out, 16, m.mac, HUB_KEY_MAC_SIZE, 'mac');
  return out;
}

export function decodeHubKeyReq(d: Uint8Array): HubKeyReq {
  header(d, MessageType.HubKeyReq, HUB_KEY_REQ_SIZE, 'HUB_KEY_REQ');
  return { nonce: d.slice(4, 16), mac: d.slice(16, 32) };
}

export function encodeHubKeyResp(m: HubKeyResp): Uint8Array {
  const out = new Uint8Array(HUB_KEY_RESP_SIZE);
  out[0] = MessageType.HubKeyResp;
  put(out, 4, m.nonce, HUB_KEY_NONCE_SIZE, 'nonce');
  put(out, 16, m.hubStatic, 32, 'hubStatic');
  put(out, 48, m.mac, HUB_KEY_MAC_SIZE, 'mac');
  return out;
}

export function decodeHubKeyResp(d: Uint8Array): HubKeyResp {
  header(d, MessageType.HubKeyResp, HUB_KEY_RESP_SIZE, 'HUB_KEY_RESP');
  return { nonce: d.slice(4, 16), hubStatic: d.slice(16, 48), mac: d.slice(48, 64) };
}
