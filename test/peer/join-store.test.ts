// joined.json (peer/join-store.ts): what a peer that joined by invite keeps; round trip, mode 0600,
// refusal of a damaged file naming it, and "never joined" when there is none.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { joinedPath, joinedText, loadJoined, parseJoined, saveJoined, type JoinedCredentials } from '../../src/peer/join-store.js';
import { ConfigError } from '../../src/util/errors.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const creds: JoinedCredentials = { invite: '0123456789abcdef', psk: new Uint8Array(32).fill(7), hubKey: new Uint8Array(32).fill(8), hub: ['203.0.113.1:7000'], network: '10.9.0.0/24', name: 'pc', joinedMs: Date.UTC(2026, 11, 4) };

describe('joined.json', () => {
  it('round-trips through the text and the file (0600); absent means never joined', () => {
    expect(parseJoined(joinedText(creds), 'j.json')).toEqual(creds);
    const d = (dir = mkdtempSync(join(tmpdir(), 'meshd-joined-')));
    expect(loadJoined(join(d, 'state'))).toBeUndefined();
    saveJoined(join(d, 'state'), creds);
    expect(statSync(joinedPath(join(d, 'state'))).mode & 0o777).toBe(0o600);
    expect(loadJoined(join(d, 'state'))).toEqual(creds);
  });

  it('refuses a damaged file naming it and how to recover', () => {
    const d = (dir = mkdtempSync(join(tmpdir(), 'meshd-joined-')));
    writeFileSync(joinedPath(d), '{"psk": "short"}');
    expect(() => loadJoined(d)).toThrow(ConfigError);
    expect(() => loadJoined(d)).toThrow(/joined\.json: "psk" must be 32 bytes of base64 \(remove it and join again/);
  });
});
