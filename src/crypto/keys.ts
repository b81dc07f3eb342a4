// Static X25519 key pairs: generation, base64 encoding for files and flags, and a small cache of
// node:crypto KeyObjects (importing a raw key costs ~74 us, more than a DH). Used by handshake.ts,
// the CLI (genkey/pubkey) and config loading.
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { MeshdError } from '../util/errors.js';

export const KEY_SIZE = 32;

export interface StaticKeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

// Measured on node 20: JWK export/import of an X25519 key costs ~3/17 us, DER import ~118 us and
// deriving a public KeyObject from a private one ~170 us, so the handshake path uses JWK only.

/** Raw 32-byte public key of an X25519 KeyObject (a private one works too, but slowly). */
export function rawPublicKey(k: KeyObject): Uint8Array {
  const jwk = k.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
}

/**
 * A fresh X25519 private key from 32 random bytes, imported as a JWK: Node takes `d` and derives
 * the public key itself (`x` must be a string but is not read; test/crypto/keys.test.ts checks the
 * result against X25519(d, 9)). Not generateKeyPairSync: on Node 20 a JWK export of a key it made
 * can deadlock when garbage collection destroys its KeyGenJob during the export (a hub hung so
 * under load, docs/RELIABILITY.md). Same cost, ~75 us.
 */
function freshPrivateKey(): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: randomBytes(KEY_SIZE).toString('base64url'), x: '' }, format: 'jwk' });
}

export function generateKeyPair(): StaticKeyPair {
  const jwk = freshPrivateKey().export({ format: 'jwk' });
  return { privateKey: new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url')), publicKey: new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')) };
}

export function keyPairFromPrivate(priv: Uint8Array): StaticKeyPair {
  if (priv.byteLength !== KEY_SIZE) throw new MeshdError('KEY_INVALID', `private key must be ${KEY_SIZE} bytes`);
  return { privateKey: new Uint8Array(priv), publicKey: rawPublicKey(privateKeyObject(priv)) };
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

/** A bounded map from raw key (hex) to KeyObject; evicts the oldest insertion when full. */
class KeyObjectCache {
  private readonly map = new Map<string, KeyObject>();
  constructor(
    private readonly limit: number,
    private readonly make: (raw: Uint8Array) => KeyObject,
  ) {}
  get(raw: Uint8Array): KeyObject {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
    let k = this.map.get(id);
    if (k === undefined) {
      k = this.make(raw);
      if (this.map.size >= this.limit) {
        const first = this.map.keys().next();
        if (!first.done) this.map.delete(first.value);
      }
      this.map.set(id, k);
    }
    return k;
  }
}

// Local tuning: a mesh has at most a few thousand peers; each entry is ~100 bytes plus the KeyObject.
const publicCache = new KeyObjectCache(4096, (raw) => importPublicKey(raw));
const privateCache = new KeyObjectCache(64, (raw) =>
  createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' }),
);

/** Cached KeyObject for a raw X25519 public key; throws MeshdError KEY_INVALID on a bad length. */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== KEY_SIZE) throw new MeshdError('KEY_INVALID', `public key must be ${KEY_SIZE} bytes`);
  return publicCache.get(raw);
}

/** Cached KeyObject for a raw X25519 private key. */
export function privateKeyObject(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== KEY_SIZE) throw new MeshdError('KEY_INVALID', `private key must be ${KEY_SIZE} bytes`);
  return privateCache.get(raw);
}

/** Uncached import of a raw public key (ephemerals: never seen twice, would only evict statics). */
export function importPublicKey(raw: Uint8Array): KeyObject {
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

/** Uncached import of a raw private key. */
export function importPrivateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** A fresh ephemeral key pair as a KeyObject plus its raw public key (no private export). */
export function generateEphemeral(): { privateKey: KeyObject; publicKey: Uint8Array } {
  const privateKey = freshPrivateKey();
  return { privateKey, publicKey: rawPublicKey(privateKey) };
}
