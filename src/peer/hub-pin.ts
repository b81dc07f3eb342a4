// The pinned hub key in the peer's state directory (`hub.pub`, PROTOCOL.md "Keys and secrets"):
// read at start (fail closed: a file that is there but does not parse, or is a symlink, stops the
// peer instead of being learned again), written atomically without following symlinks when the
// key is learned. Used by peer/run.ts.
import { join } from 'node:path';
import { readFileNoFollow, writeFileAtomic } from '../config/write-atomic.js';
import { decodeKey, encodeKey } from '../crypto/keys.js';
import { ConfigError } from '../util/errors.js';

export function hubPinPath(stateDir: string): string {
  return join(stateDir, 'hub.pub');
}

/** The pinned key, or undefined when there is no hub.pub. Throws ConfigError (fail closed) when
 * the file cannot be read, is a symlink, or does not hold a key. */
export function readPinnedHubKey(stateDir: string): Uint8Array | undefined {
  const path = hubPinPath(stateDir);
  let text: string | undefined;
  try {
    text = readFileNoFollow(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'is a symlink' : `cannot be read (${code ?? String(e)})`;
    throw new ConfigError('--state-dir', `the pinned hub key ${path} ${why}; refusing to start (remove it to learn the key again, or give --hub-key)`);
  }
  if (text === undefined) return undefined;
  try {
    return decodeKey(text.trim(), 'pinned hub key');
  } catch {
    throw new ConfigError('--state-dir', `the pinned hub key ${path} does not hold a base64 public key; refusing to start (remove it to learn the key again, or give --hub-key)`);
  }
}

/** Pins a learned key (mode 0600, atomic, a symlink at hub.pub is replaced, not followed). */
export function writePinnedHubKey(stateDir: string, key: Uint8Array): void {
  writeFileAtomic(hubPinPath(stateDir), `${encodeKey(key)}\n`, 0o600);
}
