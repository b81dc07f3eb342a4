// The Reed-Solomon code (fec/rs.ts, fec/gf256.ts) on the reference backend: field laws, every
// erasure pattern of small groups, seeded random shapes with unequal symbol lengths.
import { describe, expect, it } from 'vitest';
import { GF_EXP, gfInv, gfInvert, gfMul } from '../../src/fec/gf256.js';
import { encodeParity, parityMatrix, reconstruct } from '../../src/fec/rs.js';
import { toHex } from '../../src/util/bytes.js';
import { Rng } from '../fakes/rng.js';

function group(rng: Rng, k: number, m: number, maxLen: number) {
  const data = Array.from({ length: k }, () => rng.bytes(1 + rng.int(maxLen)));
  const len = Math.max(...data.map((d) => d.byteLength));
  const parity = Array.from({ length: m }, () => new Uint8Array(len));
  encodeParity(data, parity);
  return { data, parity, len };
}

function padded(d: Uint8Array, len: number): string {
  const p = new Uint8Array(len);
  p.set(d);
  return toHex(p);
}

describe('GF(2^8)', () => {
  it('generator 2 cycles through all 255 non-zero elements', () => {
    expect(new Set(GF_EXP.subarray(0, 255)).size).toBe(255);
  });
  it('every non-zero element times its inverse is 1, and multiplication distributes', () => {
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInv(a))).toBe(1);
    const rng = new Rng(1);
    for (let i = 0; i < 1000; i++) {
      const [a, b, c] = [rng.int(256), rng.int(256), rng.int(256)];
      expect(gfMul(a, b ^ c)).toBe(gfMul(a, b) ^ gfMul(a, c));
    }
  });
  it('inverts a matrix and says undefined for a singular one', () => {
    const m = parityMatrix(3, 3);
    const inv = gfInvert(m, 3)!;
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let t = 0; t < 3; t++) s ^= gfMul(m[r * 3 + t]!, inv[t * 3 + c]!);
        expect(s).toBe(r === c ? 1 : 0);
      }
    }
    expect(gfInvert(Uint8Array.of(1, 2, 1, 2), 2)).toBeUndefined();
  });
});

describe('Reed-Solomon erasure code', () => {
  it('pins the parity of a tiny group (golden bytes: changing the field or matrix breaks the wire)', () => {
    const parity = [new Uint8Array(3), new Uint8Array(3)];
    encodeParity([Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5)], parity);
    // Checked against a shift-and-add multiply with 1/((128+i)^j) found by search, independent of gf256.ts.
    expect(parity.map(toHex)).toEqual(['562f2d', '38dffc']);
  });

  it.each([
    [4, 2],
    [5, 3],
    [3, 1],
  ])('k=%i m=%i: every pattern of up to m erasures is repaired', (k, m) => {
    const rng = new Rng(k * 10 + m);
    const { data, parity, len } = group(rng, k, m, 40);
    const n = k + m;
    for (let mask = 0; mask < 1 << n; mask++) {
      let lost = 0;
      for (let b = 0; b < n; b++) if (mask & (1 << b)) lost++;
      const d = data.map((x, j) => (mask & (1 << j) ? undefined : x));
      const p = parity.map((x, i) => (mask & (1 << (k + i)) ? undefined : x));
      const r = reconstruct(d, p, len);
      if (lost > m) {
        const missingData = d.filter((x) => x === undefined).length;
        const presentParity = p.filter((x) => x !== undefined).length;
        expect(r === undefined).toBe(missingData > presentParity);
        continue;
      }
      expect(r).toBeDefined();
      for (const [t, j] of r!.indices.entries()) expect(toHex(r!.symbols[t]!)).toBe(padded(data[j]!, len));
    }
  });

  it('seeded random shapes up to (40, 20) with unequal lengths recover any k of k + m', () => {
    const rng = new Rng(7);
    for (let it = 0; it < 60; it++) {
      const k = 1 + rng.int(40);
      const m = 1 + rng.int(20);
      const { data, parity, len } = group(rng, k, m, 300);
      const lost = new Set<number>();
      const want = rng.int(m + 1);
      while (lost.size < want) lost.add(rng.int(k + m));
      const d = data.map((x, j) => (lost.has(j) ? undefined : x));
      const p = parity.map((x, i) => (lost.has(k + i) ? undefined : x));
      const r = reconstruct(d, p, len)!;
      expect(r.indices).toEqual([...lost].filter((j) => j < k).sort((a, b) => a - b));
      for (const [t, j] of r.indices.entries()) expect(toHex(r.symbols[t]!)).toBe(padded(data[j]!, len));
    }
  });

  it('refuses a bad shape and an input longer than the output', () => {
    expect(() => parityMatrix(0, 1)).toThrow(RangeError);
    expect(() => parityMatrix(129, 1)).toThrow(RangeError);
    expect(() => encodeParity([new Uint8Array(4)], [new Uint8Array(3)])).toThrow(RangeError);
  });
});
