// The KCP segment header codec (24 bytes, little-endian) and the datagram framing (segments back to
// back). kcp.ts uses the raw read/write helpers on its hot path; tools and tests use the checked
// encode/decode pairs, which throw only DecodeError.
//
//   0               4       5       6               8
//   +---------------+-------+-------+---------------+
//   |     conv      |  cmd  |  frg  |      wnd      |
//   +---------------+-------+-------+---------------+
//   8                               12              16
//   +-------------------------------+---------------+
//   |              ts               |      sn       |
//   +-------------------------------+---------------+
//   16                              20              24
//   +-------------------------------+---------------+
//   |              una              |      len      |   then len bytes of payload
//   +-------------------------------+---------------+
//   conv, ts, sn, una, len: u32 LE; wnd: u16 LE; cmd, frg: u8.
import { DecodeError } from '../util/errors.js';
import { KCP_OVERHEAD_BYTES, kcpCmdName, type KcpCmd } from './constants.js';

export interface SegmentHeader {
  conv: number;
  cmd: number;
  /** Count-down fragment index; 0 = last or only fragment. */
  frg: number;
  /** Sender's free receive window in segments. */
  wnd: number;
  ts: number;
  sn: number;
  una: number;
  /** Payload length in bytes. */
  len: number;
}

export interface DecodedSegment {
  header: SegmentHeader;
  /** A view into the input, not a copy. */
  payload: Uint8Array;
}

export function readU32LE(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export function readU16LE(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function writeU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** Writes one header at o (the caller guarantees 24 bytes of room). Returns o + 24. */
export function writeHeader(
  b: Uint8Array,
  o: number,
  conv: number,
  cmd: number,
  frg: number,
  wnd: number,
  ts: number,
  sn: number,
  una: number,
  len: number,
): number {
  writeU32LE(b, o, conv);
  b[o + 4] = cmd;
  b[o + 5] = frg;
  b[o + 6] = wnd;
  b[o + 7] = wnd >>> 8;
  writeU32LE(b, o + 8, ts);
  writeU32LE(b, o + 12, sn);
  writeU32LE(b, o + 16, una);
  writeU32LE(b, o + 20, len);
  return o + KCP_OVERHEAD_BYTES;
}

function checkField(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new DecodeError(`segment ${name} out of range: ${v}`, 'KCP_FIELD');
}

/** One segment (header + payload) as fresh bytes; header.len must equal payload.length. */
export function encodeSegment(h: SegmentHeader, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkField('conv', h.conv, 0xffffffff);
  checkField('cmd', h.cmd, 0xff);
  checkField('frg', h.frg, 0xff);
  checkField('wnd', h.wnd, 0xffff);
  checkField('ts', h.ts, 0xffffffff);
  checkField('sn', h.sn, 0xffffffff);
  checkField('una', h.una, 0xffffffff);
  if (h.len !== payload.length) throw new DecodeError(`len ${h.len} != payload ${payload.length}`, 'KCP_LEN');
  const out = new Uint8Array(KCP_OVERHEAD_BYTES + payload.length);
  writeHeader(out, 0, h.conv, h.cmd, h.frg, h.wnd, h.ts, h.sn, h.una, h.len);
  out.set(payload, KCP_OVERHEAD_BYTES);
  return out;
}

/** Several segments back to back, as flush() packs them into one datagram. */
export function encodeDatagram(segs: readonly DecodedSegment[]): Uint8Array {
  const parts = segs.map((s) => encodeSegment(s.header, s.payload));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Header at offset o; throws DecodeError if fewer than 24 bytes remain. Does not check cmd or len. */
export function decodeHeader(b: Uint8Array, o = 0): SegmentHeader {
  if (o < 0 || b.length - o < KCP_OVERHEAD_BYTES) throw new DecodeError(`short segment header: ${b.length - o} bytes`, 'KCP_SHORT');
  return {
    conv: readU32LE(b, o),
    cmd: b[o + 4]!,
    frg: b[o + 5]!,
    wnd: readU16LE(b, o + 6),
    ts: readU32LE(b, o + 8),
    sn: readU32LE(b, o + 12),
    una: readU32LE(b, o + 16),
    len: readU32LE(b, o + 20),
  };
}

/** One segment at o: header, known cmd and a len that fits. Throws DecodeError otherwise. */
export function decodeSegment(b: Uint8Array, o = 0): DecodedSegment {
  const header = decodeHeader(b, o);
  if (kcpCmdName[header.cmd as KcpCmd] === undefined) throw new DecodeError(`unknown cmd ${header.cmd}`, 'KCP_CMD');
  const start = o + KCP_OVERHEAD_BYTES;
  if (header.len > b.length - start) throw new DecodeError(`len ${header.len} exceeds ${b.length - start} remaining`, 'KCP_LEN');
  return { header, payload: b.subarray(start, start + header.len) };
}

/**
 * Every segment of a datagram. Like the reference's input loop, fewer than 24 trailing bytes end
 * the datagram silently; an empty or shorter-than-one-header datagram is an error.
 */
export function decodeDatagram(b: Uint8Array): DecodedSegment[] {
  if (b.length < KCP_OVERHEAD_BYTES) throw new DecodeError(`short datagram: ${b.length} bytes`, 'KCP_SHORT');
  const out: DecodedSegment[] = [];
  let o = 0;
  while (b.length - o >= KCP_OVERHEAD_BYTES) {
    const s = decodeSegment(b, o);
    out.push(s);
    o += KCP_OVERHEAD_BYTES + s.header.len;
  }
  return out;
}
