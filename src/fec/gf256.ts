// Arithmetic in GF(2^8) (polynomial x^8+x^4+x^3+x^2+1, 0x11d, generator 2) for the Reed-Solomon
// erasure code (fec/rs.ts): log/exp tables, a full 64 KiB product table for the shard loops, and a
// small Gauss-Jordan inverse for the decode matrix. Pure; the C addon (fec/native/fec.c) builds the
// same tables, so both sides compute identical bytes.

/** The field's reduction polynomial (protocol: both sides must agree, it defines the parity bytes). */
export const GF_POLY = 0x11d;

export const GF_EXP = new Uint8Array(512);
export const GF_LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = x;
    GF_LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLY;
  }
  for (let i = 255; i < 512; i++) GF_EXP[i] = GF_EXP[i - 255]!;
}

/** GF_MUL[a * 256 + b] = a * b: one lookup per byte in the shard loops. */
export const GF_MUL = new Uint8Array(65536);
for (let a = 1; a < 256; a++) {
  for (let b = 1; b < 256; b++) GF_MUL[a * 256 + b] = GF_EXP[GF_LOG[a]! + GF_LOG[b]!]!;
}

export function gfMul(a: number, b: number): number {
  return GF_MUL[(a << 8) | b]!;
}

/** The multiplicative inverse of a non-zero element. */
export function gfInv(a: number): number {
  if (a === 0) throw new RangeError('gf256: inverse of 0');
  return GF_EXP[255 - GF_LOG[a]!]!;
}

/**
 * The inverse of the n x n matrix `a` (row-major, not modified), or undefined when singular.
 * n is at most the parity count, so the cubic cost is a few thousand table lookups.
 */
export function gfInvert(a: Uint8Array, n: number): Uint8Array | undefined {
  const w = new Uint8Array(a.subarray(0, n * n));
  const inv = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let piv = col;
    while (piv < n && w[piv * n + col] === 0) piv++;
    if (piv === n) return undefined;
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        const t = w[col * n + j]!;
        w[col * n + j] = w[piv * n + j]!;
        w[piv * n + j] = t;
        const u = inv[col * n + j]!;
        inv[col * n + j] = inv[piv * n + j]!;
        inv[piv * n + j] = u;
      }
    }
    const s = gfInv(w[col * n + col]!);
    for (let j = 0; j < n; j++) {
      w[col * n + j] = gfMul(w[col * n + j]!, s);
      inv[col * n + j] = gfMul(inv[col * n + j]!, s);
    }
    for (let r = 0; r < n; r++) {
      const f = w[r * n + col]!;
      if (r === col || f === 0) continue;
      for (let j = 0; j < n; j++) {
        w[r * n + j]! ^= gfMul(f, w[col * n + j]!);
        inv[r * n + j]! ^= gfMul(f, inv[col * n + j]!);
      }
    }
  }
  return inv;
}
