// How the network secret's text becomes key material (PROTOCOL.md "Keys and secrets", README):
// standard base64 that decodes to at least 32 bytes (what `meshd gensecret` prints) is used as is;
// anything else is a passphrase, refused when weak and otherwise stretched with scrypt once per
// start, so a captured handshake or HUB_KEY_REQ does not allow fast offline guessing. Hub and peer
// both go through here (crypto/psk.ts pskFromSecret; config/parse.ts checks at start).
import { scryptSync } from 'node:crypto';
import { MeshdError } from '../util/errors.js';

/** Protocol: raw key material is at least this long (256 bits). */
export const MIN_KEY_SECRET_BYTES = 32;
/** Local policy (both ends apply it, so a weak network cannot be configured): a passphrase has at
 * least this many characters and at least two kinds of character (lower, upper, digit, other). */
export const MIN_PASSPHRASE_CHARS = 20;
/** Protocol (both ends must agree): scrypt N = 2^15, r = 8, p = 1, 32 bytes (~32 MiB, ~0.1 s on a
 * VPS core, paid once per start): RFC 7914's interactive-login setting. */
export const PASSPHRASE_SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const;
const PASSPHRASE_SALT = Buffer.from('meshd v1 network passphrase');

export type SecretKind = { kind: 'key'; bytes: Uint8Array } | { kind: 'passphrase' } | { kind: 'weak'; why: string };

const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Pure: what a (trimmed) secret text is. */
export function classifySecret(text: string): SecretKind {
  // Random base64 mixes letters of both cases and digits; text of one kind (a long lowercase word)
  // that happens to be valid base64 is a passphrase, and judged as one.
  const b64Kinds = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(text)).length;
  if (text.length >= 44 && b64Kinds >= 2 && base64Re.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.byteLength >= MIN_KEY_SECRET_BYTES) return { kind: 'key', bytes: new Uint8Array(bytes) };
  }
  const chars = [...text].length;
  if (chars < MIN_PASSPHRASE_CHARS) return { kind: 'weak', why: `a passphrase of ${chars} characters (at least ${MIN_PASSPHRASE_CHARS} are needed)` };
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(text)).length;
  if (kinds < 2) return { kind: 'weak', why: 'a passphrase made of one kind of character only' };
  return { kind: 'passphrase' };
}

/** The 32 bytes of key material for HKDF (crypto/psk.ts): the decoded key, or scrypt(passphrase).
 * Throws SecretWeakError for a weak one. */
export function secretKeyMaterial(text: string): Uint8Array {
  const k = classifySecret(text);
  if (k.kind === 'key') return k.bytes;
  if (k.kind === 'weak') throw new SecretWeakError(k.why);
  const { N, r, p, keyLength, maxmem } = PASSPHRASE_SCRYPT;
  return new Uint8Array(scryptSync(text.normalize('NFC'), PASSPHRASE_SALT, keyLength, { N, r, p, maxmem }));
}

export class SecretWeakError extends MeshdError {
  constructor(why: string) {
    super('SECRET_WEAK', `the network secret is ${why}: use 32 random bytes (meshd gensecret) or a longer passphrase`);
  }
}
