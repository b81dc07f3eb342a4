// Codec of HUB_KEY_REQ / HUB_KEY_RESP (PROTOCOL.md): how a peer learns the hub's static key on
// first contact. The MACs are computed and checked in src/crypto/hub-key.ts.
//
// HUB_KEY_REQ (type 5), 32 bytes       HUB_KEY_RESP (type 6), 64 bytes
//   0  type=5 | 0 | 0 | 0                0   type=6 | 0 | 0 | 0
//   4  nonce [12]                        4   nonce [12] (echoed)
//   16 mac [16]                          16  hub_static_public [32]
//                                        48  mac [16]
import { checkFixedHeader, HUB_KEY_REQ_SIZE, HUB_KEY_RESP_SIZE, MessageType, putField } from './outer.js';

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

export function encodeHubKeyReq(m: HubKeyReq): Uint8Array {
  const out = new Uint8Array(HUB_KEY_REQ_SIZE);
  out[0] = MessageType.HubKeyReq;
  putField(out, 4, m.nonce, HUB_KEY_NONCE_SIZE, 'nonce');
  putField(out, 16, m.mac, HUB_KEY_MAC_SIZE, 'mac');
  return out;
}

export function decodeHubKeyReq(d: Uint8Array): HubKeyReq {
  checkFixedHeader(d, MessageType.HubKeyReq, HUB_KEY_REQ_SIZE, 'HUB_KEY_REQ');
  return { nonce: d.slice(4, 16), mac: d.slice(16, 32) };
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
