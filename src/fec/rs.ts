// Systematic Reed-Solomon erasure code over GF(2^8) for the FEC layer (fec/encoder.ts, fec/decoder.ts):
// k data symbols go out unchanged, m parity symbols are P_i = XOR_j C[i][j] * D_j with the Cauchy
// matrix C[i][j] = 1 / ((128 + i) XOR j). Every square submatrix of a Cauchy matrix is invertible, so
// [I; C] is MDS: any k of the k + m symbols rebuild the rest. A coefficient depends only on (i, j),
// never on k or m, so a partial group (fewer data symbols) simply uses the first columns.
// Symbols of unequal length count as zero-padded to the longest; nothing is copied to pad them.
// The byte loops run in a ShardMul backend: the C addon (fec/native.ts) or tsShardMul below.
import { GF_MUL, gfInv, gfInvert, gfMul } from './gf256.js';

/** Largest data and parity counts of one group (protocol: the coefficient rows/columns are 0..127). */
export const RS_MAX_DATA = 128;
export const RS_MAX_PARITY = 128;

/** The byte loop both backends implement. */
export interface ShardMul {
  /**
   * outs[r] = XOR over c of coefs[r * ins.length + c] * ins[c], each input counted as zero-padded
   * to the outputs' common length (an input must not be longer). Outputs are overwritten, or with
   * `accumulate` the products are XORed into them (the encoder adds one data symbol at a time).
   */
  mulShards(coefs: Uint8Array, ins: readonly Uint8Array[], outs: readonly Uint8Array[], accumulate?: boolean): void;
}

/** The reference backend: one 64 KiB-table lookup per byte. */
export const tsShardMul: ShardMul = {
  mulShards(coefs, ins, outs, accumulate = false) {
    const cols = ins.length;
    if (coefs.byteLength !== cols * outs.length) throw new RangeError('rs: coefficient count');
    for (let r = 0; r < outs.length; r++) {
      const out = outs[r]!;
      if (out.byteLength !== outs[0]!.byteLength) throw new RangeError('rs: outputs of unequal length');
      if (!accumulate) out.fill(0);
      for (let c = 0; c < cols; c++) {
        const f = coefs[r * cols + c]!;
        const src = ins[c]!;
        if (src.byteLength > out.byteLength) throw new RangeError('rs: input longer than output');
        if (f === 0) continue;
        const n = src.byteLength;
        if (f === 1) {
          for (let i = 0; i < n; i++) out[i] = out[i]! ^ src[i]!;
          continue;
        }
        const base = f << 8;
        for (let i = 0; i < n; i++) out[i] = out[i]! ^ GF_MUL[base | src[i]!]!;
      }
    }
  },
};

/** C[i][j]. */
export function parityCoef(i: number, j: number): number {
  return gfInv((128 + i) ^ j);
}

const encodeMatrices = new Map<number, Uint8Array>();

/** The m x k block of C (row-major), cached per shape. */
export function parityMatrix(k: number, m: number): Uint8Array {
  checkShape(k, m);
  const key = k * 256 + m;
  let c = encodeMatrices.get(key);
  if (c === undefined) {
    c = new Uint8Array(m * k);
    for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) c[i * k + j] = parityCoef(i, j);
    encodeMatrices.set(key, c);
  }
  return c;
}

function checkShape(k: number, m: number): void {
  if (!(Number.isInteger(k) && Number.isInteger(m) && k >= 1 && m >= 1 && k <= RS_MAX_DATA && m <= RS_MAX_PARITY)) {
    throw new RangeError(`rs: bad shape k=${k} m=${m}`);
  }
}

/** Writes the m parity symbols of `data` (k symbols, each at most parity[i].byteLength long) into `parity`. */
export function encodeParity(data: readonly Uint8Array[], parity: readonly Uint8Array[], mul: ShardMul = tsShardMul): void {
  mul.mulShards(parityMatrix(data.length, parity.length), data, parity);
}

/**
 * Rebuilds the missing data symbols of a group from any k present symbols. `data[j]` / `parity[i]`
 * are the symbols that arrived (undefined when lost); `symbolBytes` is the parity symbols' length.
 * Returns the indices it rebuilt and their new symbols (zero-padded to symbolBytes), or undefined
 * when fewer than k symbols are present. Parity that is not needed is not read.
 */
export function reconstruct(
  data: readonly (Uint8Array | undefined)[],
  parity: readonly (Uint8Array | undefined)[],
  symbolBytes: number,
  mul: ShardMul = tsShardMul,
): { indices: number[]; symbols: Uint8Array[] } | undefined {
  const k = data.length;
  checkShape(k, Math.max(1, parity.length));
  const missing: number[] = [];
  const present: number[] = [];
  for (let j = 0; j < k; j++) (data[j] === undefined ? missing : present).push(j);
  const e = missing.length;
  if (e === 0) return { indices: [], symbols: [] };
  const rows: number[] = [];
  for (let i = 0; i < parity.length && rows.length < e; i++) if (parity[i] !== undefined) rows.push(i);
  if (rows.length < e) return undefined;
  // For the chosen parity rows R: P_R = C[R][present] D_present + C[R][missing] D_missing, so
  // D_missing = A^-1 P_R + A^-1 C[R][present] D_present with A = C[R][missing] (Cauchy: invertible).
  const a = new Uint8Array(e * e);
  for (let r = 0; r < e; r++) for (let c = 0; c < e; c++) a[r * e + c] = parityCoef(rows[r]!, missing[c]!);
  const ainv = gfInvert(a, e);
  if (ainv === undefined) throw new Error('rs: Cauchy submatrix not invertible'); // unreachable
  const cols = present.length + e;
  const coefs = new Uint8Array(e * cols);
  for (let r = 0; r < e; r++) {
    for (let c = 0; c < present.length; c++) {
      let s = 0;
      for (let t = 0; t < e; t++) s ^= gfMul(ainv[r * e + t]!, parityCoef(rows[t]!, present[c]!));
      coefs[r * cols + c] = s;
    }
    for (let t = 0; t < e; t++) coefs[r * cols + present.length + t] = ainv[r * e + t]!;
  }
  const ins: Uint8Array[] = [];
  for (const j of present) ins.push(data[j]!);
  for (const i of rows) ins.push(parity[i]!);
  const symbols = missing.map(() => new Uint8Array(symbolBytes));
  mul.mulShards(coefs, ins, symbols);
  return { indices: missing, symbols };
}
