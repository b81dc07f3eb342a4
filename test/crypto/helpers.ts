// Fixed identities for crypto tests: deterministic keys from fixed private scalars.
import { keyPairFromPrivate, type StaticKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import type { HandshakeIdentity } from '../../src/crypto/handshake.js';

export function fixedKey(seed: number): StaticKeyPair {
  const priv = new Uint8Array(32);
  for (let i = 0; i < 32; i++) priv[i] = (seed * 31 + i * 7) & 255;
  return keyPairFromPrivate(priv);
}

export const PSK = derivePsk('correct horse battery staple');
export const OTHER_PSK = derivePsk('another network secret!!');
/** 2024-01-01T00:00:00Z, the wall clock of golden tests. */
export const WALL = 1_704_067_200_000;

export function identity(seed: number, psk = PSK): HandshakeIdentity {
  return { keyPair: fixedKey(seed), psk };
}
