// Differential test: the C byte loop (fec/native/fec.c) gives the same bytes as the TypeScript
// reference (fec/rs.ts tsShardMul) for seeded random shapes and lengths, through encode and repair.
import { afterAll, describe, expect, it } from 'vitest';
import { fecBackendName, nativeShardMul, useFecSimd } from '../../src/fec/native.js';
import { encodeParity, reconstruct, tsShardMul } from '../../src/fec/rs.js';
import { toHex } from '../../src/util/bytes.js';
import { Rng } from '../fakes/rng.js';

const native = nativeShardMul();

describe.skipIf(native === undefined && process.env.CI !== 'true')('FEC addon', () => {
  it('is built (CI builds every addon) and names its vector path', () => {
    expect(native).toBeDefined();
    expect(['avx2', 'ssse3', 'neon', 'scalar']).toContain(fecBackendName());
  });

  afterAll(() => {
    useFecSimd(best);
  });
  const best = fecBackendName();

  it.each(['avx2', 'ssse3', 'neon', 'scalar'])('mulShards on the %s path: C == TS for random coefficients, shapes and lengths (odd tails included)', (path) => {
    if (!useFecSimd(path)) return; // this CPU lacks it
    expect(fecBackendName()).toBe(path);
    const rng = new Rng(19);
    for (let it = 0; it < 150; it++) {
      const rows = 1 + rng.int(8);
      const cols = 1 + rng.int(24);
      const n = rng.int(2000);
      const coefs = rng.bytes(rows * cols);
      if (rng.chance(0.3)) coefs[rng.int(coefs.length)] = rng.chance(0.5) ? 0 : 1;
      const ins = Array.from({ length: cols }, () => rng.bytes(rng.int(n + 1)));
      const a = Array.from({ length: rows }, () => rng.bytes(n)); // garbage: must be overwritten
      const b = Array.from({ length: rows }, () => rng.bytes(n));
      const accumulate = rng.chance(0.5);
      if (accumulate) for (let r = 0; r < rows; r++) b[r]!.set(a[r]!); // same starting bytes
      tsShardMul.mulShards(coefs, ins, a, accumulate);
      native!.mulShards(coefs, ins, b, accumulate);
      expect(b.map(toHex)).toEqual(a.map(toHex));
    }
  });

  it('encode and repair through the addon match the reference for seeded groups', () => {
    const rng = new Rng(20);
    for (let it = 0; it < 50; it++) {
      const k = 1 + rng.int(30);
      const m = 1 + rng.int(8);
      const data = Array.from({ length: k }, () => rng.bytes(1 + rng.int(1400)));
      const len = Math.max(...data.map((d) => d.byteLength));
      const pc = Array.from({ length: m }, () => new Uint8Array(len));
      const pt = Array.from({ length: m }, () => new Uint8Array(len));
      encodeParity(data, pc, native);
      encodeParity(data, pt, tsShardMul);
      expect(pc.map(toHex)).toEqual(pt.map(toHex));
      const lost = new Set<number>();
      while (lost.size < m) lost.add(rng.int(k + m));
      const d = data.map((x, j) => (lost.has(j) ? undefined : x));
      const p = pc.map((x, i) => (lost.has(k + i) ? undefined : x));
      const r = reconstruct(d, p, len, native)!;
      for (const [t, j] of r.indices.entries()) expect(toHex(r.symbols[t]!.subarray(0, data[j]!.byteLength))).toBe(toHex(data[j]!));
    }
  });

  it('refuses bad arguments with code FEC_BAD_ARG', () => {
    const out = [new Uint8Array(4)];
    expect(() => native!.mulShards(new Uint8Array(2), [new Uint8Array(4)], out)).toThrow(expect.objectContaining({ code: 'FEC_BAD_ARG' }));
    expect(() => native!.mulShards(new Uint8Array(1), [new Uint8Array(5)], out)).toThrow(expect.objectContaining({ code: 'FEC_BAD_ARG' }));
    expect(() => native!.mulShards(new Uint8Array(2), [new Uint8Array(1)], [new Uint8Array(1), new Uint8Array(2)])).toThrow(
      expect.objectContaining({ code: 'FEC_BAD_ARG' }),
    );
    expect(() => native!.mulShards(new Uint8Array(1), ['x' as unknown as Uint8Array], out)).toThrow(expect.objectContaining({ code: 'FEC_BAD_ARG' }));
  });
});
