// The seeded codec fuzz loop every wire/arq codec test runs (STYLE.md "Wire formats"): decode either
// succeeds or throws DecodeError, and a decoded message re-encodes to a fixed point.
import { expect } from 'vitest';
import { DecodeError } from '../../src/util/errors.js';
import { Rng } from '../fakes/rng.js';
import { toHex } from '../../src/util/bytes.js';

export interface CodecFuzz<M> {
  readonly seed: number;
  readonly iterations: number;
  /** The next input; the only consumer of the rng, so a seed replays the same inputs. */
  readonly input: (rng: Rng) => Uint8Array;
  readonly decode: (b: Uint8Array) => M;
  readonly encode: (m: M) => Uint8Array;
  /** True (default): encode(decode(b)) is b byte for byte. False (a decoder that accepts several
   * spellings of one message): decode(encode(m)) equals m and encode is a fixed point from there. */
  readonly sameBytes?: boolean;
}

/** Runs the loop with vitest expectations; returns how many inputs decoded (callers assert a floor). */
export function fuzzCodec<M>(f: CodecFuzz<M>): number {
  const rng = new Rng(f.seed);
  let ok = 0;
  for (let i = 0; i < f.iterations; i++) {
    const d = f.input(rng);
    let m: M;
    try {
      m = f.decode(d);
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      continue;
    }
    ok++;
    const again = f.encode(m);
    if (f.sameBytes !== false) expect(toHex(again)).toBe(toHex(d));
    expect(f.decode(again)).toEqual(m);
    if (f.sameBytes === false) expect(toHex(f.encode(f.decode(again)))).toBe(toHex(again));
  }
  return ok;
}

/** With probability `p`, and when there is room, makes `d` start with the 4-byte message header
 * `type, 0, 0, 0` so most inputs reach the decoder's field checks; true when it did. */
export function withTypeHeader(rng: Rng, d: Uint8Array, type: number, p = 0.7): boolean {
  if (!(rng.chance(p) && d.byteLength >= 4)) return false;
  d[0] = type;
  d[1] = d[2] = d[3] = 0;
  return true;
}
