// Red-team finding M1: trust on first use only from the configured hub endpoint, and a pin that
// fails closed. HubClient over the memory switch (who may answer HUB_KEY_REQ), and hub.pub on disk
// (unparsable or symlinked pins stop the peer; writing replaces a planted symlink, never follows it).
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHubKeyResponse, verifyHubKeyRequest } from '../../src/crypto/hub-key.js';
import { encodeKey, generateKeyPair } from '../../src/crypto/keys.js';
import { derivePsk } from '../../src/crypto/psk.js';
import { Link } from '../../src/link/link.js';
import { HubClient } from '../../src/peer/hub-client.js';
import { readPinnedHubKey, writePinnedHubKey } from '../../src/peer/hub-pin.js';
import { PeerMap } from '../../src/peer/peer-map.js';
import { ConfigError } from '../../src/util/errors.js';
import { testLogger } from '../fakes/logger.js';
import { ManualClock } from '../fakes/manual-clock.js';
import { MemoryUdpSwitch } from '../fakes/memory-udp.js';

const psk = derivePsk('hub pin test network secret');
const HUB = { address: '203.0.113.2', port: 7000 };

function learningPeer() {
  const clock = new ManualClock();
  const sw = new MemoryUdpSwitch(clock, { delayMs: 1 }, 5);
  const udp = sw.open('192.0.2.10', 4000);
  const link = new Link({ udp, keyPair: generateKeyPair(), psk, clock, wallClock: () => 1_700_000_000_000 + clock.now(), log: testLogger('peer') });
  const learned: Uint8Array[] = [];
  const client = new HubClient({
    link, clock, wallClock: () => 1_700_000_000_000 + clock.now(), log: testLogger('hub-client'), hub: HUB, psk,
    onHubKeyLearned: (k) => learned.push(k), overlay: 0x0a090002, prefix: 24, name: 'p', lan: () => [], bootId: 1n, map: new PeerMap('x'),
  });
  // The hub's address: the test sees the request there (as an on-path member would) and answers.
  const hubSock = sw.open(HUB.address, HUB.port);
  const requests: Uint8Array[] = [];
  hubSock.onMessage((d) => requests.push(new Uint8Array(d)));
  void client.start().catch(() => {});
  clock.advance(10);
  return { clock, sw, link, client, learned, hubSock, requests };
}

describe('M1: trust on first use only from the configured hub', () => {
  it('ignores a valid HUB_KEY_RESP sent from any other address (an on-path member posing as the hub)', () => {
    const t = learningPeer();
    expect(t.requests.length).toBe(1);
    const nonce = verifyHubKeyRequest(psk, t.requests[0]!)!;
    const impostor = generateKeyPair().publicKey;
    t.sw.open('198.51.100.66', 7000).send(buildHubKeyResponse(psk, nonce, impostor), { address: '192.0.2.10', port: 4000 });
    t.sw.open(HUB.address, 7001).send(buildHubKeyResponse(psk, nonce, impostor), { address: '192.0.2.10', port: 4000 });
    t.clock.advance(10);
    expect(t.client.hubKey).toBeUndefined();
    expect(t.learned).toEqual([]);
    expect(t.link.drops.hub_key).toBe(2);
    // The real hub's answer, from the configured endpoint, is taken.
    const real = generateKeyPair().publicKey;
    t.hubSock.send(buildHubKeyResponse(psk, nonce, real), { address: '192.0.2.10', port: 4000 });
    t.clock.advance(10);
    expect(t.client.hubKey).toEqual(real);
    expect(t.learned).toEqual([real]);
  });
});

describe('a peer whose clock is off cannot learn the hub key, and says why it may be', () => {
  it('HUB_KEY_REQ stamped 5 minutes behind the hub is dropped as stale; after ~23 s the peer warns once', () => {
    const clock = new ManualClock();
    const sw = new MemoryUdpSwitch(clock, { delayMs: 1 }, 6);
    const wall = 1_700_000_000_000;
    const hub = new Link({ udp: sw.open(HUB.address, HUB.port), keyPair: generateKeyPair(), psk, clock, wallClock: () => wall + clock.now(), log: testLogger('hub'), answerHubKey: true });
    const link = new Link({ udp: sw.open('192.0.2.10', 4000), keyPair: generateKeyPair(), psk, clock, wallClock: () => wall + clock.now() - 300_000, log: testLogger('peer') });
    const lines: Array<{ level: number; msg: string }> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const client = new HubClient({
      link, clock, wallClock: () => wall + clock.now() - 300_000, log, hub: HUB, psk,
      overlay: 0x0a090002, prefix: 24, name: 'p', lan: () => [], bootId: 1n, map: new PeerMap('x'),
    });
    void client.start().catch(() => {});
    clock.advance(60_000);
    expect(client.hubKey).toBeUndefined();
    expect(hub.drops.hub_key_stale).toBeGreaterThanOrEqual(6);
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]!.msg).toMatch(/no answer to HUB_KEY_REQ yet: .*clock within 3 minutes/);
  });
});

describe('M1: hub.pub fails closed and is written without following symlinks', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = () => (dir = mkdtempSync(join(tmpdir(), 'meshd-hubpin-')));

  it('no hub.pub: nothing pinned (the key is learned)', () => {
    expect(readPinnedHubKey(fresh())).toBeUndefined();
  });

  it.each([
    ['garbage', 'not a key\n'],
    ['a truncated key', `${encodeKey(generateKeyPair().publicKey).slice(0, 20)}\n`],
    ['an empty file', ''],
  ])('a hub.pub holding %s stops the peer instead of being learned again', (_why, text) => {
    writeFileSync(join(fresh(), 'hub.pub'), text);
    expect(() => readPinnedHubKey(dir)).toThrow(ConfigError);
  });

  it('a hub.pub that is a symlink is refused', () => {
    fresh();
    const key = generateKeyPair().publicKey;
    writeFileSync(join(dir, 'elsewhere'), `${encodeKey(key)}\n`);
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'hub.pub'));
    expect(() => readPinnedHubKey(dir)).toThrow(/symlink/);
  });

  it('pins atomically, mode 0600, replacing a planted symlink instead of writing through it', () => {
    fresh();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(dir, 'hub.pub'));
    const key = generateKeyPair().publicKey;
    writePinnedHubKey(dir, key);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(join(dir, 'hub.pub')).isSymbolicLink()).toBe(false);
    expect(statSync(join(dir, 'hub.pub')).mode & 0o777).toBe(0o600);
    expect(readPinnedHubKey(dir)).toEqual(key);
  });
});
