// FEC frames: the inner message (wire/inner.ts) of proposed kind FEC = 5 that carries one shard of
// an erasure-coded group, or the receiver's loss report. Used by fec/encoder.ts and fec/decoder.ts;
// the data path seals a frame like any inner message. Data shards are whole inner messages (KCP, IP,
// STREAM...), sent at once; parity follows when the group is full or its flush deadline passes.
//
//   0  kind u8 = 5 (FEC) | 1 op u8
//   DATA   (1)  2 group u32 LE | 6 index u8 | 7 len u16 LE | 9 shard [len]          = 9 + len bytes
//   PARITY (2)  2 group u32 LE | 6 index u8 | 7 k u8 | 8 m u8 | 9 symbol [2 + L]    = 11 + L bytes
//   REPORT (3)  2 window u16 LE | 4 loss_q16 u16 LE | 6 burst_q8 u16 LE              = 8 bytes
//
// The coded symbol of data shard j is bytes 7.. of its frame (its length, then the shard), counted
// as zero-padded to 2 + L where L is the longest shard of the group; a PARITY symbol is bytes 9..,
// so both sides code without copying and a repaired shard brings its own length. DATA index < 128;
// PARITY index < m, 1 <= k <= 128, 1 <= m <= 128 (fec/rs.ts). REPORT: packets the receiver expected
// in its last window, loss rate x 65536 and mean loss-run length x 256 (fec/loss-estimator.ts).
import { DecodeError } from '../util/errors.js';
import { viewOf } from '../util/bytes.js';
import { RS_MAX_DATA, RS_MAX_PARITY } from './rs.js';

/** The inner kind proposed for FEC frames (wire/inner.ts has 0-4, 16, 17, 32, 33; protocol). */
export const INNER_KIND_FEC = 5;

export enum FecOp {
  DATA = 1,
  PARITY = 2,
  REPORT = 3,
}

export const fecOpName: Readonly<Record<FecOp, string>> = {
  [FecOp.DATA]: 'DATA',
  [FecOp.PARITY]: 'PARITY',
  [FecOp.REPORT]: 'REPORT',
};

/** Bytes a DATA frame adds before the shard: the headroom the data path reserves when FEC is on. */
export const FEC_DATA_HEADER_BYTES = 9;
/** Bytes a PARITY frame has before its symbol. */
export const FEC_PARITY_HEADER_BYTES = 9;
/** Where a DATA frame's coded symbol (len + shard) starts. */
export const FEC_DATA_SYMBOL_OFFSET = 7;
/** A symbol's length prefix. */
export const FEC_SYMBOL_LEN_BYTES = 2;
export const FEC_REPORT_BYTES = 8;
/** Largest shard (u16 length). */
export const FEC_MAX_SHARD_BYTES = 0xffff;

export type FecFrame =
  | { op: FecOp.DATA; group: number; index: number; shard: Uint8Array }
  | { op: FecOp.PARITY; group: number; index: number; k: number; m: number; symbol: Uint8Array }
  | { op: FecOp.REPORT; window: number; lossQ16: number; burstQ8: number };

/** Writes a DATA header into out[0..9) for a shard of `len` bytes that sits at out[9..). */
export function writeDataHeader(out: Uint8Array, group: number, index: number, len: number): void {
  const v = viewOf(out);
  out[0] = INNER_KIND_FEC;
  out[1] = FecOp.DATA;
  v.setUint32(2, group >>> 0, true);
  out[6] = index;
  v.setUint16(7, len, true);
}

/** Writes a PARITY header into out[0..9); the symbol goes at out[9..). */
export function writeParityHeader(out: Uint8Array, group: number, index: number, k: number, m: number): void {
  out[0] = INNER_KIND_FEC;
  out[1] = FecOp.PARITY;
  viewOf(out).setUint32(2, group >>> 0, true);
  out[6] = index;
  out[7] = k;
  out[8] = m;
}

export function encodeFecFrame(f: FecFrame): Uint8Array {
  switch (f.op) {
    case FecOp.DATA: {
      const out = new Uint8Array(FEC_DATA_HEADER_BYTES + f.shard.byteLength);
      writeDataHeader(out, f.group, f.index, f.shard.byteLength);
      out.set(f.shard, FEC_DATA_HEADER_BYTES);
      return out;
    }
    case FecOp.PARITY: {
      const out = new Uint8Array(FEC_PARITY_HEADER_BYTES + f.symbol.byteLength);
      writeParityHeader(out, f.group, f.index, f.k, f.m);
      out.set(f.symbol, FEC_PARITY_HEADER_BYTES);
      return out;
    }
    case FecOp.REPORT: {
      const out = new Uint8Array(FEC_REPORT_BYTES);
      const v = viewOf(out);
      out[0] = INNER_KIND_FEC;
      out[1] = FecOp.REPORT;
      v.setUint16(2, f.window, true);
      v.setUint16(4, f.lossQ16, true);
      v.setUint16(6, f.burstQ8, true);
      return out;
    }
  }
}

/** Decodes an FEC frame (kind byte included). Byte fields are views into `b`. */
export function decodeFecFrame(b: Uint8Array): FecFrame {
  if (b.byteLength < 2) throw new DecodeError('fec: short frame');
  if (b[0] !== INNER_KIND_FEC) throw new DecodeError(`fec: inner kind ${b[0]}`);
  const v = viewOf(b);
  const op = b[1]!;
  switch (op) {
    case FecOp.DATA: {
      if (b.byteLength < FEC_DATA_HEADER_BYTES) throw new DecodeError('fec: short DATA header');
      const index = b[6]!;
      const len = v.getUint16(7, true);
      if (index >= RS_MAX_DATA) throw new DecodeError(`fec: DATA index ${index}`);
      if (len !== b.byteLength - FEC_DATA_HEADER_BYTES) throw new DecodeError(`fec: DATA len ${len} in ${b.byteLength} bytes`);
      return { op, group: v.getUint32(2, true), index, shard: b.subarray(FEC_DATA_HEADER_BYTES) };
    }
    case FecOp.PARITY: {
      if (b.byteLength < FEC_PARITY_HEADER_BYTES + FEC_SYMBOL_LEN_BYTES) throw new DecodeError('fec: short PARITY');
      const [index, k, m] = [b[6]!, b[7]!, b[8]!];
      if (k < 1 || k > RS_MAX_DATA || m < 1 || m > RS_MAX_PARITY || index >= m) {
        throw new DecodeError(`fec: PARITY index ${index} of k=${k} m=${m}`);
      }
      return { op, group: v.getUint32(2, true), index, k, m, symbol: b.subarray(FEC_PARITY_HEADER_BYTES) };
    }
    case FecOp.REPORT:
      if (b.byteLength !== FEC_REPORT_BYTES) throw new DecodeError(`fec: REPORT of ${b.byteLength} bytes`);
      return { op, window: v.getUint16(2, true), lossQ16: v.getUint16(4, true), burstQ8: v.getUint16(6, true) };
    default:
      throw new DecodeError(`fec: unknown op ${op}`, 'DECODE_UNKNOWN_TYPE');
  }
}
