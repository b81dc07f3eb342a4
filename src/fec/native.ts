// The one loader of the FEC addon (build/Release/meshd_fec.node, built from src/fec/native/ by
// `npm install`): the Reed-Solomon byte loop (rs.ts ShardMul) in C with SIMD. Loaded lazily on first
// ask; when the addon is missing or fails to load, fecShardMul() gives the TypeScript loop, which
// computes the same bytes (test/fec/native.test.ts), only slower.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsShardMul, type ShardMul } from './rs.js';

interface FecAddon {
  mulShards?(coefs: Uint8Array, ins: readonly Uint8Array[], outs: readonly Uint8Array[], accumulate?: boolean): void;
  simd?(): string;
  useSimd?(name: string): boolean;
}

// src/fec/native.ts and dist/fec/native.js are both two levels below the package root.
const addonPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'meshd_fec.node');
let loaded: FecAddon | null | undefined; // null: tried and failed

function addon(): FecAddon | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(addonPath) as FecAddon;
    } catch {
      loaded = null; // not built (no compiler at install time) or not this platform
    }
  }
  return loaded ?? undefined;
}

/** The addon's byte loop, or undefined when it is not built here. A bad argument throws an Error
 * with code FEC_BAD_ARG. */
export function nativeShardMul(): ShardMul | undefined {
  const m = addon()?.mulShards;
  return typeof m === 'function' ? { mulShards: m } : undefined;
}

/** The fastest byte loop here: the addon's, else the TypeScript reference. */
export function fecShardMul(): ShardMul {
  return nativeShardMul() ?? tsShardMul;
}

/** Which loop fecShardMul() runs: 'avx2', 'ssse3', 'neon', 'scalar' (the addon's) or 'ts'. */
export function fecBackendName(): string {
  const a = addon();
  return a?.mulShards && a.simd ? a.simd() : 'ts';
}

/** Test hook: makes the addon run the named vector path ('avx2', 'ssse3', 'neon', 'scalar'); false
 * when the addon is absent or this CPU lacks it. */
export function useFecSimd(name: string): boolean {
  return addon()?.useSimd?.(name) ?? false;
}
