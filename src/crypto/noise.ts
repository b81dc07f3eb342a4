// Noise primitives as WireGuard instantiates them: HASH = BLAKE2s-256, HMAC-BLAKE2s, the HKDF-style
// KDF1/2/3, ChaCha20-Poly1305 with a 0^4 || u64 LE nonce, X25519 and TAI64N. Used by handshake.ts and
// cookie.ts. Keys are raw 32-byte arrays. The work is done by a backend: node:crypto (noise-node.ts)
// or one with the same bytes (the addon's C on Node's OpenSSL, a handshake in a fraction of the time:
// crypto/native.ts). A Noise binds the primitives to one backend; whoever runs handshakes passes it
// in (HandshakeIdentity.noise, CookieChecker's option; the link gets it from crypto/backends.ts).
// The free functions below are node:crypto's (NODE_NOISE).
import { MeshdError } from '../util/errors.js';
import { nodeNoise } from './noise-node.js';

export const HASH_SIZE = 32;
const KEY_SIZE = 32;
export const TAG_SIZE = 16;
export const TAI64N_SIZE = 12;

/** One implementation of the primitives; every backend gives node:crypto's bytes. */
export interface NoiseBackend {
  /** X25519 of 32-byte keys; undefined when the result is all zero (a low-order public key). */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined;
  /** X25519(privateKey, 9): the public key of a private one. */
  x25519Base(privateKey: Uint8Array): Uint8Array;
  /** A fresh pair (32 random bytes; X25519 clamps). Absent: random bytes and x25519Base. */
  generateKeyPair?(): { privateKey: Uint8Array; publicKey: Uint8Array };
  /** BLAKE2s-256 of the parts' concatenation (the addon takes at most 8 parts; callers pass 1-3). */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** HMAC-BLAKE2s of the parts' concatenation (at most 8 parts, as hash). */
  hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /** The first n KDF outputs, concatenated (32 n bytes). */
  kdf(n: 1 | 2 | 3, chainingKey: Uint8Array, input: Uint8Array): Uint8Array;
  seal(key: Uint8Array, counter: number, plaintext: Uint8Array, ad: Uint8Array): Uint8Array;
  /** undefined when authentication fails. */
  open(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array): Uint8Array | undefined;
}

/** The Noise primitives on one backend: what handshake.ts, cookie.ts and keys.ts call. */
export class Noise {
  constructor(readonly backend: NoiseBackend) {}

  hash(...parts: Uint8Array[]): Uint8Array {
    return this.backend.hash(...parts);
  }

  hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    return this.backend.hmac(key, ...parts);
  }

  /** Noise HKDF with HMAC-BLAKE2s, returning the first `n` (1..3) outputs (views of one array). */
  kdf(n: 1 | 2 | 3, chainingKey: Uint8Array, input: Uint8Array): Uint8Array[] {
    const t = this.backend.kdf(n, chainingKey, input);
    if (n === 1) return [t];
    const out = [t.subarray(0, HASH_SIZE), t.subarray(HASH_SIZE, 2 * HASH_SIZE)];
    if (n === 3) out.push(t.subarray(2 * HASH_SIZE));
    return out;
  }

  aeadSeal(key: Uint8Array, counter: number, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
    return this.backend.seal(key, counter, plaintext, ad);
  }

  /** Opens a sealed box; undefined when authentication fails. */
  aeadOpen(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array): Uint8Array | undefined {
    return this.backend.open(key, counter, sealed, ad);
  }

  /** X25519 of raw keys; undefined for a low-order peer key (all-zero result). Throws MeshdError
   * KEY_INVALID when a key is not 32 bytes, whichever the backend. */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
    if (privateKey.byteLength !== KEY_SIZE || publicKey.byteLength !== KEY_SIZE) {
      throw new MeshdError('KEY_INVALID', `X25519 keys must be ${KEY_SIZE} bytes (got ${privateKey.byteLength} and ${publicKey.byteLength})`);
    }
    return this.backend.x25519(privateKey, publicKey);
  }
}

/** node:crypto's primitives: the default wherever no backend is passed. */
export const NODE_NOISE = new Noise(nodeNoise);

export function hash(...parts: Uint8Array[]): Uint8Array {
  return NODE_NOISE.hash(...parts);
}

export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  return NODE_NOISE.hmac(key, ...parts);
}

export function kdf(n: 1 | 2 | 3, chainingKey: Uint8Array, input: Uint8Array): Uint8Array[] {
  return NODE_NOISE.kdf(n, chainingKey, input);
}

export function aeadSeal(key: Uint8Array, counter: number, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return NODE_NOISE.aeadSeal(key, counter, plaintext, ad);
}

export function aeadOpen(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array): Uint8Array | undefined {
  return NODE_NOISE.aeadOpen(key, counter, sealed, ad);
}

export function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
  return NODE_NOISE.x25519(privateKey, publicKey);
}

/** TAI64N label of a wall-clock time: u64 BE (2^62 + 10 + seconds), u32 BE nanoseconds. */
export function tai64n(wallMs: number): Uint8Array {
  const out = new Uint8Array(TAI64N_SIZE);
  const v = new DataView(out.buffer);
  const secs = BigInt(Math.floor(wallMs / 1000)) + 0x400000000000000an;
  v.setBigUint64(0, secs, false);
  v.setUint32(8, Math.floor(wallMs - Math.floor(wallMs / 1000) * 1000) * 1_000_000, false);
  return out;
}

/** Wall-clock milliseconds of a TAI64N label (inverse of tai64n to the millisecond). */
export function tai64nToMs(t: Uint8Array): number {
  const v = new DataView(t.buffer, t.byteOffset, TAI64N_SIZE);
  const secs = Number(v.getBigUint64(0, false) - 0x400000000000000an);
  return secs * 1000 + Math.floor(v.getUint32(8, false) / 1_000_000);
}

/** Lexicographic compare of equal-length byte strings (TAI64N labels order this way). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.byteLength && i < b.byteLength; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.byteLength - b.byteLength;
}
