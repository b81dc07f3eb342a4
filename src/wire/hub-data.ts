// Codec of HUB_DATA (outer type 10): a relayed datagram carried over UDP from one hub to another
// of the same network (issue 24: the NATS engine carries state and signals, never data). Sealed in
// crypto/hub-data.ts, sent and received by hub/hub-channel.ts; peers never see it (the hub's UDP
// demux takes it before the link). Type 11 is reserved for hub-to-hub use.
//
//   0  type = 10 | 0 | 0 | 0
//   4  sender epoch [8]          the sending hub's random boot epoch (its presence says it)
//   12 counter u64 BE            per (sender epoch, receiver epoch); AEAD nonce; replay window
//   20 sealed plaintext + tag [16] (AD = bytes 0-19)
//   plaintext: from overlay u32 BE | to overlay u32 BE | the relayed datagram (1+ bytes, sealed by
//   the two peers: no hub can read it)
import { DecodeError } from '../util/errors.js';

export const HUB_DATA_TYPE = 10;
/** Reserved for hub-to-hub use (issue 24 allocation); nothing sends it yet. */
export const HUB_DATA_RESERVED_TYPE = 11;
export const HUB_EPOCH_SIZE = 8;
export const HUB_DATA_HEADER_SIZE = 20;
export const HUB_DATA_TAG_SIZE = 16;
export const HUB_DATA_PLAIN_HEADER_SIZE = 8;
/** Smallest valid frame: header, tag, from/to and a 1-byte datagram. */
export const HUB_DATA_MIN_SIZE = HUB_DATA_HEADER_SIZE + HUB_DATA_TAG_SIZE + HUB_DATA_PLAIN_HEADER_SIZE + 1;
/** Protocol: counters stay exact in a double (2^53 - 1), as the link's. */
export const HUB_DATA_MAX_COUNTER = Number.MAX_SAFE_INTEGER;

export interface HubDataHeader {
  epoch: Uint8Array;
  counter: number;
}

export interface HubDataPlain {
  from: number;
  to: number;
  datagram: Uint8Array;
}

/** The 20-byte header (also the AEAD's associated data). */
export function encodeHubDataHeader(h: HubDataHeader): Uint8Array {
  if (h.epoch.byteLength !== HUB_EPOCH_SIZE) throw new RangeError(`hub epoch must be ${HUB_EPOCH_SIZE} bytes`);
  if (!Number.isInteger(h.counter) || h.counter < 0 || h.counter > HUB_DATA_MAX_COUNTER) throw new RangeError('hub data counter out of range');
  const out = new Uint8Array(HUB_DATA_HEADER_SIZE);
  out[0] = HUB_DATA_TYPE;
  out.set(h.epoch, 4);
  new DataView(out.buffer).setBigUint64(12, BigInt(h.counter), false);
  return out;
}

/** Header fields and the sealed part of a frame (views of `d`); DecodeError when it cannot be one. */
export function decodeHubData(d: Uint8Array): HubDataHeader & { ad: Uint8Array; sealed: Uint8Array } {
  if (d.byteLength < HUB_DATA_MIN_SIZE) throw new DecodeError(`hub data: ${d.byteLength} bytes, at least ${HUB_DATA_MIN_SIZE}`);
  if (d[0] !== HUB_DATA_TYPE || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) throw new DecodeError('hub data: bad type or reserved bytes');
  const c = new DataView(d.buffer, d.byteOffset, d.byteLength).getBigUint64(12, false);
  if (c > BigInt(HUB_DATA_MAX_COUNTER)) throw new DecodeError('hub data: counter past 2^53');
  return { epoch: d.subarray(4, 12), counter: Number(c), ad: d.subarray(0, HUB_DATA_HEADER_SIZE), sealed: d.subarray(HUB_DATA_HEADER_SIZE) };
}

export function encodeHubDataPlain(p: HubDataPlain): Uint8Array {
  if (p.datagram.byteLength === 0) throw new RangeError('hub data: empty datagram');
  const out = new Uint8Array(HUB_DATA_PLAIN_HEADER_SIZE + p.datagram.byteLength);
  const v = new DataView(out.buffer);
  v.setUint32(0, p.from >>> 0, false);
  v.setUint32(4, p.to >>> 0, false);
  out.set(p.datagram, HUB_DATA_PLAIN_HEADER_SIZE);
  return out;
}

export function decodeHubDataPlain(b: Uint8Array): HubDataPlain {
  if (b.byteLength <= HUB_DATA_PLAIN_HEADER_SIZE) throw new DecodeError(`hub data plaintext: ${b.byteLength} bytes, at least ${HUB_DATA_PLAIN_HEADER_SIZE + 1}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { from: v.getUint32(0, false), to: v.getUint32(4, false), datagram: b.subarray(HUB_DATA_PLAIN_HEADER_SIZE) };
}
