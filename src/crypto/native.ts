// The one loader of the crypto addon (build/Release/meshd_crypto.node, built from src/crypto/native/
// by `npm install`): the data path's TRANSPORT AEAD (aead.c) and the handshake's Noise primitives
// (noise.c) in C on Node's own OpenSSL, with node:crypto's bytes. Loaded lazily on first ask; when the
// addon is missing, fails to load or lacks a group, the getters say undefined and the callers stay on
// node:crypto. runtimeCrypto() bundles them as the CryptoBackends a Link runs on (backends.ts).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_CRYPTO, type CryptoBackends } from './backends.js';
import { Noise, type NoiseBackend } from './noise.js';
import type { AeadBackend } from './session.js';

interface CryptoAddon {
  aeadSeal?(key: Uint8Array, out: Uint8Array, plaintext: Uint8Array): boolean;
  aeadOpen?(key: Uint8Array, datagram: Uint8Array, out: Uint8Array): number;
  noiseX25519?(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined;
  noiseX25519Base?(privateKey: Uint8Array): Uint8Array;
  noiseHash?(...parts: Uint8Array[]): Uint8Array;
  noiseHmac?(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  noiseKdf?(n: 1 | 2 | 3, chainingKey: Uint8Array, input: Uint8Array): Uint8Array;
  noiseSeal?(key: Uint8Array, counter: number, plaintext: Uint8Array, ad: Uint8Array): Uint8Array;
  noiseOpen?(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array): Uint8Array | undefined;
}

// src/crypto/native.ts and dist/crypto/native.js are both two levels below the package root.
const addonPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'meshd_crypto.node');
let loaded: CryptoAddon | null | undefined; // null: tried and failed

function addon(): CryptoAddon | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(addonPath) as CryptoAddon;
    } catch {
      loaded = null; // not built (no compiler at install time) or not this platform
    }
  }
  return loaded ?? undefined;
}

/** True when the crypto addon is built and loads here. */
export function cryptoAddonAvailable(): boolean {
  return addon() !== undefined;
}

/** The addon's ChaCha20-Poly1305 for TRANSPORT datagrams (session.ts AeadBackend), or undefined. */
export function nativeAead(): AeadBackend | undefined {
  const a = addon();
  if (a === undefined) return undefined;
  const { aeadSeal, aeadOpen } = a;
  if (typeof aeadSeal !== 'function' || typeof aeadOpen !== 'function') return undefined;
  return { aeadSeal, aeadOpen };
}

/** The addon's handshake primitives (X25519, BLAKE2s, HMAC, the Noise KDF, the small boxes) as
 * noise.ts's NoiseBackend, or undefined. A wrong argument length throws an Error with code
 * NOISE_BAD_ARG. */
export function nativeNoise(): NoiseBackend | undefined {
  const a = addon();
  if (a === undefined) return undefined;
  const { noiseX25519: x25519, noiseX25519Base: x25519Base, noiseHash: hash, noiseHmac: hmac, noiseKdf: kdf, noiseSeal: seal, noiseOpen: open } = a;
  if (!x25519 || !x25519Base || !hash || !hmac || !kdf || !seal || !open) return undefined;
  return { x25519, x25519Base, hash, hmac, kdf, seal, open };
}

/**
 * The backends a runtime runs on: the addon's where it loads (same bytes as node:crypto either way),
 * or node:crypto with `nodeCrypto` (the user's switch MESHD_NODE_CRYPTO=1, read when no option is
 * given). A factory, not a switch: each Link takes what it is given (LinkOptions.crypto) and falls
 * back to this; the answer for the environment is made once and shared.
 */
export function runtimeCrypto(opts: { nodeCrypto?: boolean } = {}): CryptoBackends {
  const nodeCrypto = opts.nodeCrypto ?? process.env['MESHD_NODE_CRYPTO'] === '1';
  if (nodeCrypto) return NODE_CRYPTO;
  if (fromAddon === undefined) {
    const aead = nativeAead();
    const noise = nativeNoise();
    fromAddon = {
      noise: noise ? new Noise(noise) : NODE_CRYPTO.noise,
      aead: aead ?? null,
      names: { aead: aead ? 'native' : 'node', noise: noise ? 'native' : 'node' },
    };
  }
  return fromAddon;
}
let fromAddon: CryptoBackends | undefined;
