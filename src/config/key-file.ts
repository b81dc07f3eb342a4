// The node's private key on disk: read it, or create it (mode 0600, in a 0700 directory) on first
// start. Used by both daemons; `meshd genkey`/`pubkey` use the same base64 form.
import { mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeKey, encodeKey, generateKeyPair, keyPairFromPrivate, type StaticKeyPair } from '../crypto/keys.js';
import { ConfigError } from '../util/errors.js';

export interface LoadedKey {
  keyPair: StaticKeyPair;
  created: boolean;
}

export function loadOrCreateKey(path: string, option = '--key-file'): LoadedKey {
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new ConfigError(option, `cannot read ${path}: ${code ?? String(e)}`);
  }
  if (text !== undefined) {
    const mode = statSync(path).mode & 0o077;
    if (mode !== 0) throw new ConfigError(option, `${path} is readable by group or others (chmod 600 ${path})`);
    let priv: Uint8Array;
    try {
      priv = decodeKey(text.trim(), option);
    } catch {
      throw new ConfigError(option, `${path} does not hold a base64 X25519 private key (make one with: meshd genkey)`);
    }
    return { keyPair: keyPairFromPrivate(priv), created: false };
  }
  const keyPair = generateKeyPair();
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${encodeKey(keyPair.privateKey)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new ConfigError(option, `cannot create ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return { keyPair, created: true };
}
