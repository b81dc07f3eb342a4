// Fixed identities for crypto tests: deterministic keys from fixed private scalars.
import { keyPairFromPrivate, type StaticKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { consumeResponse, createInitiation, HandshakeResponder, type HandshakeIdentity } from '../../src/crypto/handshake.js';
import type { Noise } from '../../src/crypto/noise.js';
import { TransportSession } from '../../src/crypto/session.js';
import { toHex } from '../../src/util/bytes.js';

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

/** The handshake the golden bytes come from (golden.ts), made on the Noise backend given (default
 * node:crypto): alice -> bob with ephemerals fixedKey(3)/(4), then the first TRANSPORT ('meshd'). */
export function goldenHandshake(noise?: Noise): { init: string; resp: string; initiatorSendKey: string; initiatorRecvKey: string; transport: string } {
  const alice = { ...identity(1), ...(noise ? { noise } : {}) };
  const bob = { ...identity(2), ...(noise ? { noise } : {}) };
  const i = createInitiation(alice, bob.keyPair.publicKey, 0x01020304, WALL, { ephemeral: fixedKey(3) });
  const r = new HandshakeResponder(bob);
  const resp = r.createResponse(r.consumeInitiation(i.message, WALL), 0x0a0b0c0d, { ephemeral: fixedKey(4) });
  const keys = consumeResponse(i.pending, resp.message);
  return {
    init: toHex(i.message),
    resp: toHex(resp.message),
    initiatorSendKey: toHex(keys.sendKey),
    initiatorRecvKey: toHex(keys.recvKey),
    transport: toHex(new TransportSession(keys, 0).seal(new TextEncoder().encode('meshd'), 0)!),
  };
}
