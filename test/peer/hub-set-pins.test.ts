// Per-hub pins for a peer with several hubs (peer/hub-pin.ts hubs.pub, peer/hub-set-config.ts):
// which key each hub gets (config, hubs.pub, the one-hub hub.pub for the first only), and a pin
// file that fails closed.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeKey, generateKeyPair } from '../../src/crypto/keys.js';
import type { PeerConfig } from '../../src/config/schema.js';
import { readHubPins, writeHubPin } from '../../src/peer/hub-pin.js';
import { resolveHubSet } from '../../src/peer/hub-set-config.js';
import { ConfigError } from '../../src/util/errors.js';
import { testLogger } from '../fakes/logger.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'meshd-hubpins-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const k1 = generateKeyPair().publicKey;
const k2 = generateKeyPair().publicKey;
const k3 = generateKeyPair().publicKey;
const b64 = (k: Uint8Array) => encodeKey(k);
const resolve = async (host: string, port: number) => ({ address: host, port });

function cfg(stateDir: string, hubs: PeerConfig['hubs'], hubKey?: string): PeerConfig {
  return { stateDir, hubs, hub: hubs[0]!, ...(hubKey ? { hubKey } : {}) } as PeerConfig;
}

describe('hubs.pub', () => {
  it('writes one line per hub and reads them back; no file is no pins', () => {
    const d = tmp();
    expect(readHubPins(d).size).toBe(0);
    writeHubPin(d, '203.0.113.1:7000', k1);
    writeHubPin(d, '198.51.100.1:7000', k2);
    writeHubPin(d, '203.0.113.1:7000', k3);
    expect(readFileSync(join(d, 'hubs.pub'), 'utf8')).toBe(`203.0.113.1:7000 ${b64(k3)}\n198.51.100.1:7000 ${b64(k2)}\n`);
    expect([...readHubPins(d)].map(([h, k]) => `${h} ${b64(k)}`)).toEqual([`203.0.113.1:7000 ${b64(k3)}`, `198.51.100.1:7000 ${b64(k2)}`]);
  });

  it.each([
    ['a line without a key', '203.0.113.1:7000\n'],
    ['a key that does not decode', '203.0.113.1:7000 notakey\n'],
  ])('fails closed on %s', (_why, text) => {
    const d = tmp();
    writeFileSync(join(d, 'hubs.pub'), text);
    expect(() => readHubPins(d)).toThrow(ConfigError);
  });

  it('fails closed on a symlink', () => {
    const d = tmp();
    writeFileSync(join(d, 'elsewhere'), `203.0.113.1:7000 ${b64(k1)}\n`);
    symlinkSync(join(d, 'elsewhere'), join(d, 'hubs.pub'));
    expect(() => readHubPins(d)).toThrow(ConfigError);
  });
});

describe('the key each hub gets', () => {
  it('one hub: no hub set', async () => {
    expect(await resolveHubSet(cfg(tmp(), [{ host: '203.0.113.1', port: 7000 }]), { address: '203.0.113.1', port: 7000 }, undefined, testLogger('t'), resolve)).toBeUndefined();
  });

  it('config @KEY first, then hubs.pub; hub.pub (here firstKey) only for the first hub; none for an unpinned second', async () => {
    const d = tmp();
    writeHubPin(d, '198.51.100.1:7000', k2);
    const hubs = [{ host: '203.0.113.1', port: 7000 }, { host: '198.51.100.1', port: 7000 }, { host: '192.0.2.9', port: 7000 }, { host: '192.0.2.8', port: 7000, key: b64(k3) }];
    const set = await resolveHubSet(cfg(d, hubs), { address: '203.0.113.1', port: 7000 }, k1, testLogger('t'), resolve);
    expect(set!.hubs.map((h) => (h.key ? b64(h.key) : null))).toEqual([b64(k1), b64(k2), null, b64(k3)]);
  });

  it('a hubs.pub pin for the first hub wins over the one-hub hub.pub (migration)', async () => {
    const d = tmp();
    writeHubPin(d, '203.0.113.1:7000', k2);
    const set = await resolveHubSet(cfg(d, [{ host: '203.0.113.1', port: 7000 }, { host: '198.51.100.1', port: 7000, key: b64(k3) }]), { address: '203.0.113.1', port: 7000 }, k1, testLogger('t'), resolve);
    expect(b64(set!.hubs[0]!.key!)).toBe(b64(k2));
  });

  it('refuses --hub-key different from the first hub\'s @KEY', async () => {
    await expect(resolveHubSet(cfg(tmp(), [{ host: '203.0.113.1', port: 7000, key: b64(k1) }, { host: '198.51.100.1', port: 7000 }], b64(k2)), { address: '203.0.113.1', port: 7000 }, k2, testLogger('t'), resolve)).rejects.toThrow(ConfigError);
  });

  it('a hub whose name does not resolve is left out, not fatal', async () => {
    const failing = async (host: string, port: number) => {
      if (host === 'gone.example') throw new ConfigError('--hub', 'cannot resolve');
      return { address: host, port };
    };
    const set = await resolveHubSet(cfg(tmp(), [{ host: '203.0.113.1', port: 7000 }, { host: 'gone.example', port: 7000 }, { host: '198.51.100.1', port: 7000, key: b64(k2) }]), { address: '203.0.113.1', port: 7000 }, k1, testLogger('t'), failing);
    expect(set!.hubs.map((h) => h.endpoint.address)).toEqual(['203.0.113.1', '198.51.100.1']);
  });
});
