// Keys and the network psk: RFC 7748 vectors, base64 round trip, named errors.
import { describe, expect, it } from 'vitest';
import { diffieHellman } from 'node:crypto';
import { decodeKey, encodeKey, generateEphemeral, generateKeyPair, keyPairFromPrivate } from '../../src/crypto/keys.js';
import { privateKeyObject, publicKeyObject } from '../../src/crypto/noise-node.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { MeshdError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof MeshdError) return e.code;
    throw e;
  }
  return undefined;
}

describe('keys', () => {
  it('matches RFC 7748 section 6.1 (public keys and shared secret)', () => {
    const a = keyPairFromPrivate(fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const b = keyPairFromPrivate(fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(toHex(a.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(b.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const s = diffieHellman({ privateKey: privateKeyObject(a.privateKey), publicKey: publicKeyObject(b.publicKey) });
    expect(toHex(s)).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  });

  it('generates pairs whose public key matches the private one', () => {
    const k = generateKeyPair();
    expect(toHex(keyPairFromPrivate(k.privateKey).publicKey)).toBe(toHex(k.publicKey));
  });

  it('fresh static and ephemeral keys: public = X25519(private, 9), checked by a DH with the base point; all distinct', () => {
    const basePoint = publicKeyObject(fromHex('09' + '00'.repeat(31)));
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const k = generateKeyPair();
      expect(toHex(diffieHellman({ privateKey: privateKeyObject(k.privateKey), publicKey: basePoint }))).toBe(toHex(k.publicKey));
      const e = generateEphemeral();
      expect(toHex(diffieHellman({ privateKey: privateKeyObject(e.privateKey), publicKey: basePoint }))).toBe(toHex(e.publicKey));
      expect(toHex(keyPairFromPrivate(e.privateKey).publicKey)).toBe(toHex(e.publicKey)); // the bytes, not only the KeyObject
      seen.add(toHex(k.privateKey)).add(toHex(e.publicKey));
    }
    expect(seen.size).toBe(100);
  });

  it('base64 round trip; the cache returns the same KeyObject', () => {
    const k = generateKeyPair();
    expect(encodeKey(k.publicKey)).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(toHex(decodeKey(` ${encodeKey(k.publicKey)}\n`, 'x'))).toBe(toHex(k.publicKey));
    expect(publicKeyObject(k.publicKey)).toBe(publicKeyObject(new Uint8Array(k.publicKey)));
  });

  it.each([
    ['empty', ''],
    ['too short', encodeKey(new Uint8Array(31))],
    ['too long', encodeKey(new Uint8Array(33))],
    ['not base64', '!'.repeat(43) + '='],
  ])('decodeKey refuses %s with KEY_INVALID naming the key', (_why, s) => {
    expect(codeOf(() => decodeKey(s, '--hub-key'))).toBe('KEY_INVALID');
    expect(() => decodeKey(s, '--hub-key')).toThrow(/--hub-key/);
  });
});

describe('derivePsk', () => {
  it('is HKDF-SHA256 with the documented salt and info (pinned)', () => {
    expect(toHex(derivePsk('correct horse battery staple'))).toBe('76e0ecd306a671b9b519288d6fc32cefb1d0cfa67bd8b9aec5ee1d30cda72324');
    expect(toHex(derivePsk(new TextEncoder().encode('correct horse battery staple')))).toBe(toHex(derivePsk('correct horse battery staple')));
  });
  it.each([
    ['15 bytes', 'x'.repeat(15), 'SECRET_TOO_SHORT'],
    ['empty', '', 'SECRET_TOO_SHORT'],
    ['16 bytes', 'x'.repeat(16), undefined],
    ['multi-byte UTF-8 counts bytes: 6 x 3 bytes', '€'.repeat(6), undefined],
  ])('%s -> %s', (_why, s, code) => {
    expect(codeOf(() => derivePsk(s))).toBe(code);
  });
});
