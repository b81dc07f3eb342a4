// What a peer that joined by invite keeps instead of the network secret (<state-dir>/joined.json,
// mode 0600, written atomically without following symlinks): the network psk the hub sent over the
// redemption's encrypted channel, the hub's key and addresses from the token, the invite's name.
// The daemon (peer/run.ts) reads it at every start when there is no network secret.
//   {"invite": "<hex16>", "psk": "<base64>", "hubKey": "<base64>", "hub": ["203.0.113.1:7000"],
//    "network": "10.9.0.0/24", "name": "laptop", "joined": ISO}
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readFileNoFollow, writeFileAtomic } from '../config/write-atomic.js';
import { ConfigError } from '../util/errors.js';

export interface JoinedCredentials {
  invite: string;
  psk: Uint8Array;
  hubKey: Uint8Array;
  hub: string[];
  network: string;
  name: string;
  joinedMs: number;
}

export function joinedPath(stateDir: string): string {
  return join(stateDir, 'joined.json');
}

const b64Key = /^[A-Za-z0-9+/]{43}=$/;

/** Pure: the file's text; throws ConfigError naming the file. */
export function parseJoined(text: string, path: string): JoinedCredentials {
  const bad = (why: string): never => {
    throw new ConfigError('--state-dir', `${path}: ${why} (remove it and join again with --join TOKEN)`);
  };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return bad('not JSON');
  }
  if (typeof o !== 'object' || o === null) return bad('not a JSON object');
  if (typeof o.psk !== 'string' || !b64Key.test(o.psk)) bad('"psk" must be 32 bytes of base64');
  if (typeof o.hubKey !== 'string' || !b64Key.test(o.hubKey)) bad('"hubKey" must be a base64 public key');
  if (!Array.isArray(o.hub) || !o.hub.every((h) => typeof h === 'string')) bad('"hub" must be a list of host:port');
  return {
    invite: typeof o.invite === 'string' ? o.invite : '',
    psk: new Uint8Array(Buffer.from(o.psk as string, 'base64')),
    hubKey: new Uint8Array(Buffer.from(o.hubKey as string, 'base64')),
    hub: o.hub as string[],
    network: typeof o.network === 'string' ? o.network : '',
    name: typeof o.name === 'string' ? o.name : '',
    joinedMs: typeof o.joined === 'string' ? Date.parse(o.joined) || 0 : 0,
  };
}

export function joinedText(c: JoinedCredentials): string {
  return `${JSON.stringify(
    {
      invite: c.invite,
      psk: Buffer.from(c.psk).toString('base64'),
      hubKey: Buffer.from(c.hubKey).toString('base64'),
      hub: c.hub,
      network: c.network,
      name: c.name,
      joined: new Date(c.joinedMs).toISOString(),
    },
    null,
    1,
  )}\n`;
}

/** The saved credentials, or undefined when this peer never joined by invite. */
export function loadJoined(stateDir: string): JoinedCredentials | undefined {
  const path = joinedPath(stateDir);
  let text: string | undefined;
  try {
    text = readFileNoFollow(path);
  } catch (e) {
    throw new ConfigError('--state-dir', `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return text === undefined ? undefined : parseJoined(text, path);
}

export function saveJoined(stateDir: string, c: JoinedCredentials): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(joinedPath(stateDir), joinedText(c), 0o600);
}
