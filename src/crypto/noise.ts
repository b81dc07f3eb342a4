// Noise primitives as WireGuard instantiates them: HASH = BLAKE2s-256, HMAC-BLAKE2s, the HKDF-style
// KDF1/2/3, ChaCha20-Poly1305 with a 0^4 || u64 LE nonce, X25519 and TAI64N. Used by handshake.ts.
import { createCipheriv, createDecipheriv, createHash, createHmac, diffieHellman, type KeyObject } from 'node:crypto';

export const HASH_SIZE = 32;
export const TAG_SIZE = 16;
export const TAI64N_SIZE = 12;

export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('blake2s256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('blake2s256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** Noise HKDF with HMAC-BLAKE2s, returning the first `n` (1..3) outputs. */
export function kdf(n: 1 | 2 | 3, chainingKey: Uint8Array, input: Uint8Array): Uint8Array[] {
  const t0 = hmac(chainingKey, input);
  const t1 = hmac(t0, ONE);
  if (n === 1) return [t1];
  const t2 = hmac(t0, t1, TWO);
  if (n === 2) return [t1, t2];
  return [t1, t2, hmac(t0, t2, THREE)];
}

/** The 12-byte AEAD nonce: four zero bytes then the counter as u64 little-endian. */
export function nonceOf(counter: number, out: Uint8Array = new Uint8Array(12)): Uint8Array {
  out[0] = out[1] = out[2] = out[3] = 0;
  const v = new DataView(out.buffer, out.byteOffset, 12);
  v.setUint32(4, counter >>> 0, true);
  v.setUint32(8, Math.floor(counter / 0x1_0000_0000), true);
  return out;
}

export function aeadSeal(key: Uint8Array, counter: number, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonceOf(counter), { authTagLength: TAG_SIZE });
  c.setAAD(ad, { plaintextLength: plaintext.byteLength });
  const out = new Uint8Array(plaintext.byteLength + TAG_SIZE);
  out.set(c.update(plaintext), 0);
  c.final();
  out.set(c.getAuthTag(), plaintext.byteLength);
  return out;
}

/** Opens a sealed box; undefined when authentication fails. */
export function aeadOpen(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array): Uint8Array | undefined {
  if (sealed.byteLength < TAG_SIZE) return undefined;
  const n = sealed.byteLength - TAG_SIZE;
  const d = createDecipheriv('chacha20-poly1305', key, nonceOf(counter), { authTagLength: TAG_SIZE });
  d.setAuthTag(sealed.subarray(n));
  d.setAAD(ad, { plaintextLength: n });
  const out = d.update(sealed.subarray(0, n));
  try {
    d.final();
  } catch {
    return undefined;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** X25519; undefined for a low-order peer key (all-zero result), which OpenSSL refuses. */
export function dh(privateKey: KeyObject, publicKey: KeyObject): Uint8Array | undefined {
  try {
    const s = diffieHellman({ privateKey, publicKey });
    return s.every((b) => b === 0) ? undefined : new Uint8Array(s);
  } catch {
    return undefined;
  }
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
