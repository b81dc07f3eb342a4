// The node:crypto implementation of the Noise primitives (crypto/noise.ts NoiseBackend): the default,
// and the fallback when the addon is missing or MESHD_NODE_CRYPTO=1. Keys are raw 32-byte arrays
// outside; X25519 needs KeyObjects here, so this file keeps them: cached by value for statics, and
// tied to the very array for keys it generated (an ephemeral is never imported back from its bytes).
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { MeshdError } from '../util/errors.js';

const KEY_SIZE = 32;
const HASH_SIZE = 32;
const TAG_SIZE = 16;

// Measured on node 20: JWK export/import of an X25519 key costs ~3/17 us (a private JWK ~75 us: Node
// derives its public key), DER import ~118 us and up to 1.5 ms on a busy box, so only JWK is used.

function b64url(raw: Uint8Array): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
}

/** Raw 32-byte public key of an X25519 KeyObject (a private one works too, but slowly). */
export function rawPublicKey(k: KeyObject): Uint8Array {
  const jwk = k.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'));
}

/**
 * An X25519 private KeyObject from its 32 bytes, imported as a JWK: Node takes `d` and derives the
 * public key itself (`x` must be a string but is not read; test/crypto/keys.test.ts checks the result
 * against X25519(d, 9)). Not generateKeyPairSync for fresh keys: on Node 20 a JWK export of a key it
 * made can deadlock when garbage collection destroys its KeyGenJob during the export (a hub hung so
 * under load, docs/RELIABILITY.md).
 */
export function importPrivateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(raw), x: '' }, format: 'jwk' });
}

/** Uncached import of a raw public key. */
export function importPublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(raw) }, format: 'jwk' });
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
// A handshake's remote ephemeral passes through the public cache too (its second DH finds it there).
const publicCache = new KeyObjectCache(4096, importPublicKey);
const privateCache = new KeyObjectCache(64, importPrivateKey);
// Private keys this backend made or derived a public key from, by identity: a fresh ephemeral is
// used for DH at once, and re-importing it from its bytes would cost as much as making it.
const ownPrivate = new WeakMap<Uint8Array, KeyObject>();

/** Cached KeyObject for a raw X25519 public key; throws MeshdError KEY_INVALID on a bad length. */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== KEY_SIZE) throw new MeshdError('KEY_INVALID', `public key must be ${KEY_SIZE} bytes`);
  return publicCache.get(raw);
}

/** KeyObject for a raw X25519 private key: the one made with it, else cached by value. */
export function privateKeyObject(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== KEY_SIZE) throw new MeshdError('KEY_INVALID', `private key must be ${KEY_SIZE} bytes`);
  return ownPrivate.get(raw) ?? privateCache.get(raw);
}

function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
  const priv = privateKeyObject(privateKey);
  const pub = publicKeyObject(publicKey);
  try {
    const s = diffieHellman({ privateKey: priv, publicKey: pub });
    return s.every((b) => b === 0) ? undefined : new Uint8Array(s);
  } catch {
    return undefined; // OpenSSL refuses an all-zero secret (a low-order public key)
  }
}

function x25519Base(privateKey: Uint8Array): Uint8Array {
  return rawPublicKey(privateKeyObject(privateKey));
}

/** A fresh pair from 32 random bytes; its KeyObject stays tied to the new private array (callers
 * never write into a key, so the pair cannot go stale). ~75 us. */
function generateKeyPair(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const privateKey = new Uint8Array(randomBytes(KEY_SIZE));
  const k = importPrivateKey(privateKey);
  ownPrivate.set(privateKey, k);
  return { privateKey, publicKey: rawPublicKey(k) };
}

function hash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('blake2s256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('blake2s256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const LABELS = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)] as const;

function kdf(n: 1 | 2 | 3, chainingKey: Uint8Array, input: Uint8Array): Uint8Array {
  const out = new Uint8Array(n * HASH_SIZE);
  const t0 = hmac(chainingKey, input);
  let prev = hmac(t0, LABELS[0]);
  out.set(prev, 0);
  for (let i = 1; i < n; i++) {
    prev = hmac(t0, prev, LABELS[i] as Uint8Array);
    out.set(prev, i * HASH_SIZE);
  }
  return out;
}

/** The 12-byte AEAD nonce: four zero bytes then the counter as u64 little-endian. */
function nonceOf(counter: number, out: Uint8Array = new Uint8Array(12)): Uint8Array {
  out[0] = out[1] = out[2] = out[3] = 0;
  const v = new DataView(out.buffer, out.byteOffset, 12);
  v.setUint32(4, counter >>> 0, true);
  v.setUint32(8, Math.floor(counter / 0x1_0000_0000), true);
  return out;
}

function seal(key: Uint8Array, counter: number, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonceOf(counter), { authTagLength: TAG_SIZE });
  c.setAAD(ad, { plaintextLength: plaintext.byteLength });
  const out = new Uint8Array(plaintext.byteLength + TAG_SIZE);
  out.set(c.update(plaintext), 0);
  c.final();
  out.set(c.getAuthTag(), plaintext.byteLength);
  return out;
}

function open(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array): Uint8Array | undefined {
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

/** The node:crypto backend (structurally a crypto/noise.ts NoiseBackend). */
export const nodeNoise = { x25519, x25519Base, generateKeyPair, hash, hmac, kdf, seal, open };
