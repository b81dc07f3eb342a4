// X25519 key pairs as raw 32-byte arrays: generation, public from private, base64 encoding for files
// and flags. The arithmetic is the Noise backend's passed in (noise.ts: node:crypto by default, or
// the addon). Used by
// handshake.ts, the CLI (genkey/pubkey) and config loading.
import { randomBytes } from 'node:crypto';
import { MeshdError } from '../util/errors.js';
import { NODE_NOISE, type Noise } from './noise.js';

export const KEY_SIZE = 32;

export interface StaticKeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** A fresh pair: 32 random bytes (X25519 clamps them itself) and their public key. */
export function generateKeyPair(noise: Noise = NODE_NOISE): StaticKeyPair {
  const b = noise.backend;
  if (b.generateKeyPair) return b.generateKeyPair();
  const privateKey = new Uint8Array(randomBytes(KEY_SIZE));
  return { privateKey, publicKey: b.x25519Base(privateKey) };
}

export function keyPairFromPrivate(priv: Uint8Array, noise: Noise = NODE_NOISE): StaticKeyPair {
  if (priv.byteLength !== KEY_SIZE) throw new MeshdError('KEY_INVALID', `private key must be ${KEY_SIZE} bytes`);
  const privateKey = new Uint8Array(priv);
  return { privateKey, publicKey: noise.backend.x25519Base(privateKey) };
}

export function encodeKey(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('base64');
}

/** Parses a base64 32-byte key; `what` names it in the error (e.g. "--hub-key", "hub.pub"). */
export function decodeKey(s: string, what: string): Uint8Array {
  const t = s.trim();
  if (!/^[A-Za-z0-9+/]{43}=$/.test(t)) {
    throw new MeshdError('KEY_INVALID', `${what}: not a base64 ${KEY_SIZE}-byte key`);
  }
  return new Uint8Array(Buffer.from(t, 'base64'));
}

/** A fresh ephemeral pair: the same as a static one; handshake.ts uses it once and drops it. */
export function generateEphemeral(noise: Noise = NODE_NOISE): StaticKeyPair {
  return generateKeyPair(noise);
}
