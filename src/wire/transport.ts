// Codec of TRANSPORT datagrams (PROTOCOL.md), plus allocation-free header readers/writers for the
// hot path (src/crypto/session.ts seals and opens; src/link dispatches on receiverIndex).
//
//   0   type=4 | 0 | 0 | 0
//   4   receiver_index u32 LE       the receiver's session index
//   8   counter u64 LE              AEAD nonce = 0^4 || counter LE; never reused per key
//   16  ciphertext [n] || tag [16]  ChaCha20-Poly1305, aad empty
import { DecodeError } from '../util/errors.js';
import { viewOf } from '../util/bytes.js';
import { MessageType, TRANSPORT_HEADER_SIZE, TRANSPORT_MIN_SIZE, TRANSPORT_TAG_SIZE } from './outer.js';

export { TRANSPORT_HEADER_SIZE, TRANSPORT_MIN_SIZE, TRANSPORT_TAG_SIZE };

export interface Transport {
  receiverIndex: number;
  counter: bigint;
  /** Ciphertext including the 16-byte tag. */
  ciphertext: Uint8Array;
}

/** receiver_index of a datagram already classified as TRANSPORT (length >= 16 assumed checked). */
export function transportReceiverIndex(d: Uint8Array): number {
  return ((d[4] as number) | ((d[5] as number) << 8) | ((d[6] as number) << 16) | ((d[7] as number) << 24)) >>> 0;
}

/** counter as a number; exact below 2^53 (callers refuse larger ones, see MAX_SAFE_COUNTER). */
export function transportCounter(d: Uint8Array): number {
  const lo = ((d[8] as number) | ((d[9] as number) << 8) | ((d[10] as number) << 16) | ((d[11] as number) << 24)) >>> 0;
  const hi = ((d[12] as number) | ((d[13] as number) << 8) | ((d[14] as number) << 16) | ((d[15] as number) << 24)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** True when the high counter word has bits at or above 2^53 (counter not exact as a number). */
export function transportCounterUnsafe(d: Uint8Array): boolean {
  return ((d[14] as number) & 0xe0) !== 0 || (d[15] as number) !== 0;
}

/** Writes the 16-byte header at out[0..16]. */
export function writeTransportHeader(out: Uint8Array, receiverIndex: number, counter: number): void {
  out[0] = MessageType.Transport;
  out[1] = out[2] = out[3] = 0;
  const r = receiverIndex >>> 0;
  out[4] = r & 255;
  out[5] = (r >>> 8) & 255;
  out[6] = (r >>> 16) & 255;
  out[7] = r >>> 24;
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 0x1_0000_0000) >>> 0;
  out[8] = lo & 255;
  out[9] = (lo >>> 8) & 255;
  out[10] = (lo >>> 16) & 255;
  out[11] = lo >>> 24;
  out[12] = hi & 255;
  out[13] = (hi >>> 8) & 255;
  out[14] = (hi >>> 16) & 255;
  out[15] = hi >>> 24;
}

export function encodeTransport(m: Transport): Uint8Array {
  if (m.ciphertext.byteLength < TRANSPORT_TAG_SIZE) throw new RangeError('ciphertext shorter than the tag');
  const out = new Uint8Array(TRANSPORT_HEADER_SIZE + m.ciphertext.byteLength);
  out[0] = MessageType.Transport;
  const v = viewOf(out);
  v.setUint32(4, m.receiverIndex >>> 0, true);
  v.setBigUint64(8, m.counter, true);
  out.set(m.ciphertext, TRANSPORT_HEADER_SIZE);
  return out;
}

/** Full decode (tests, tools); the ciphertext is a view into `d`, not a copy. */
export function decodeTransport(d: Uint8Array): Transport {
  if (d.byteLength < TRANSPORT_MIN_SIZE) throw new DecodeError(`TRANSPORT: ${d.byteLength} bytes, want >= ${TRANSPORT_MIN_SIZE}`);
  if (d[0] !== MessageType.Transport || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) throw new DecodeError('TRANSPORT: bad type or reserved bytes');
  const v = viewOf(d);
  return { receiverIndex: v.getUint32(4, true), counter: v.getBigUint64(8, true), ciphertext: d.subarray(TRANSPORT_HEADER_SIZE) };
}
