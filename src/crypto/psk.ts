// The network pre-shared key, derived from the network secret (PROTOCOL.md "Keys and secrets").
// Mixed into every handshake (Noise psk2), keys mac1 and the HUB_KEY messages.
import { hkdfSync } from 'node:crypto';
import { MeshdError } from '../util/errors.js';
import { secretKeyMaterial } from './secret.js';

export const PSK_SIZE = 32;
/** Floor on the HKDF input (key material from secret.ts is 32 bytes or more; tests pass text). */
export const MIN_SECRET_BYTES = 16;

const SALT = Buffer.from('meshd v1 network');
const INFO = Buffer.from('psk');

/** psk = HKDF-SHA256(ikm = secret, salt = "meshd v1 network", info = "psk", 32). */
export function derivePsk(secret: string | Uint8Array): Uint8Array {
  const ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (ikm.byteLength < MIN_SECRET_BYTES) {
    throw new MeshdError('SECRET_TOO_SHORT', `network secret must be at least ${MIN_SECRET_BYTES} bytes (got ${ikm.byteLength})`);
  }
  return new Uint8Array(hkdfSync('sha256', ikm, SALT, INFO, PSK_SIZE));
}

/** The daemons' psk from the secret's text (secret.ts): HKDF over the decoded key, or over
 * scrypt(passphrase) (about 0.1 s, once per start). Throws SECRET_WEAK for a weak passphrase. */
export function pskFromSecret(secret: string): Uint8Array {
  return derivePsk(secretKeyMaterial(secret.trim()));
}
