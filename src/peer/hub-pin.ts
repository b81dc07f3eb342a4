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

// ---- several hubs (issue 24): one pin per hub, `<state-dir>/hubs.pub`, lines "host:port KEY" ----
// Only the first hub's key is ever learned on first use; the others come from the config
// (--hub host:port@KEY). hub.pub, the one-hub pin, is still read: it is the first hub's key when
// hubs.pub has no line for it (a peer given a second --hub keeps trusting the hub it knew).

export function hubsPinPath(stateDir: string): string {
  return join(stateDir, 'hubs.pub');
}

/** Pins by hub endpoint ("203.0.113.1:7000" -> key); empty when there is no hubs.pub. Fails closed
 * as readPinnedHubKey does (a symlink, an unreadable file or a bad line stops the peer). */
export function readHubPins(stateDir: string): Map<string, Uint8Array> {
  const path = hubsPinPath(stateDir);
  let text: string | undefined;
  try {
    text = readFileNoFollow(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError('--state-dir', `the pinned hub keys ${path} ${code === 'ELOOP' ? 'is a symlink' : `cannot be read (${code ?? String(e)})`}; refusing to start`);
  }
  const pins = new Map<string, Uint8Array>();
  for (const line of (text ?? '').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [hub, key, extra] = t.split(/\s+/);
    try {
      if (hub === undefined || key === undefined || extra !== undefined) throw new Error('shape');
      pins.set(hub, decodeKey(key, 'pinned hub key'));
    } catch {
      throw new ConfigError('--state-dir', `${path}: "${t}" is not "host:port KEY"; refusing to start (fix or remove the line)`);
    }
  }
  return pins;
}

/** Adds (or replaces) one hub's pin in hubs.pub (atomic, mode 0600). */
export function writeHubPin(stateDir: string, hub: string, key: Uint8Array): void {
  const pins = readHubPins(stateDir);
  pins.set(hub, key);
  writeFileAtomic(hubsPinPath(stateDir), [...pins].map(([h, k]) => `${h} ${encodeKey(k)}\n`).join(''), 0o600);
}
