// HUB_LIST (control type 56, hub -> peer, issue 24): the static keys of the hubs of the home hub's
// network state (itself included), so a peer with several --hub learns the key of a listed hub it
// has no key for from a hub it already trusts (peer/hub-set.ts "vouched"). Kept out of control.ts's
// union like ACL_POLICY; sent only to peers that set REGISTER flag 0x80 (REGISTER_FLAG_HUB_LIST).
//
//   0  type u8 (56) | 1 seq u32 LE | 5 count u16 LE | 7 public_key [32] [count]
import { viewOf } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';

/** Control type of HUB_LIST (protocol; 56-59 are the several-hubs family). */
export const HUB_LIST_TYPE = 56;
/** REGISTER flag: this peer has several hubs and reads HUB_LIST (protocol). */
export const REGISTER_FLAG_HUB_LIST = 0x80;
export const HUB_LIST_HEADER_BYTES = 7;
/** Keys per HUB_LIST so it fits one datagram (protocol: a longer list is refused). */
export const HUB_LIST_MAX_KEYS = 32;

export interface HubListMessage {
  seq: number;
  keys: Uint8Array[];
}

export function encodeHubList(m: HubListMessage): Uint8Array {
  if (m.keys.length > HUB_LIST_MAX_KEYS) throw new RangeError(`hub list: ${m.keys.length} keys (max ${HUB_LIST_MAX_KEYS})`);
  const out = new Uint8Array(HUB_LIST_HEADER_BYTES + 32 * m.keys.length);
  const v = viewOf(out);
  v.setUint8(0, HUB_LIST_TYPE);
  v.setUint32(1, m.seq >>> 0, true);
  v.setUint16(5, m.keys.length, true);
  m.keys.forEach((k, i) => {
    if (k.byteLength !== 32) throw new RangeError('hub list: a key is 32 bytes');
    out.set(k, HUB_LIST_HEADER_BYTES + 32 * i);
  });
  return out;
}

export function decodeHubList(b: Uint8Array): HubListMessage {
  if (b.byteLength < HUB_LIST_HEADER_BYTES) throw new DecodeError(`hub list: short header (${b.byteLength} bytes)`);
  const v = viewOf(b);
  if (v.getUint8(0) !== HUB_LIST_TYPE) throw new DecodeError(`hub list: type ${v.getUint8(0)}`, 'DECODE_UNKNOWN_TYPE');
  const count = v.getUint16(5, true);
  if (count > HUB_LIST_MAX_KEYS) throw new DecodeError(`hub list: ${count} keys`);
  if (b.byteLength !== HUB_LIST_HEADER_BYTES + 32 * count) throw new DecodeError(`hub list: ${b.byteLength} bytes for ${count} keys`);
  const keys: Uint8Array[] = [];
  for (let i = 0; i < count; i++) keys.push(b.slice(HUB_LIST_HEADER_BYTES + 32 * i, HUB_LIST_HEADER_BYTES + 32 * (i + 1)));
  return { seq: v.getUint32(1, true), keys };
}
