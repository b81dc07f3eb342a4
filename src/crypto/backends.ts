// The crypto implementations a runtime runs on, passed to whoever makes handshakes and sessions (the
// link's LinkOptions.crypto): the Noise primitives of handshakes and cookies (noise.ts) and the
// TRANSPORT AEAD (session.ts). Every backend gives node:crypto's bytes; crypto/native.ts builds the
// addon's (runtimeCrypto), tests and benches pass their own.
import { NODE_NOISE, type Noise } from './noise.js';
import type { AeadBackend } from './session.js';

export interface CryptoBackends {
  readonly noise: Noise;
  /** null: node:crypto's cipher objects. */
  readonly aead: AeadBackend | null;
  /** What each is, for the start-up log and `meshd status`. */
  readonly names: { readonly aead: 'native' | 'node'; readonly noise: 'native' | 'node' };
}

/** node:crypto for both: the fallback, and what a caller that passes nothing gets from crypto/. */
export const NODE_CRYPTO: CryptoBackends = { noise: NODE_NOISE, aead: null, names: { aead: 'node', noise: 'node' } };
