// The state-dir record of a port mapping (peer/port-map-store.ts) and the client address toward
// the gateway (nat/port-map.ts localAddressToward).
import { mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localAddressToward } from '../../src/nat/port-map.js';
import type { PortMapRecord } from '../../src/nat/port-mapper.js';
import { filePortMapStore, parsePortMapRecord, portMapPath } from '../../src/peer/port-map-store.js';
import { testLogger } from '../fakes/logger.js';

const rec: PortMapRecord = {
  protocol: 'pcp', gateway: '192.168.1.1', internalPort: 51820, external: { address: '198.51.100.101', port: 41000 }, expiresAtWall: 1_700_000_000_000,
  extra: { nonce: '0102030405060708090a0b0c', client: '192.168.1.2' },
};

describe('port map record', () => {
  it.each([
    ['the record as written', JSON.stringify(rec), rec],
    ['not JSON', '{', undefined],
    ['an unknown protocol', JSON.stringify({ ...rec, protocol: 'ssh' }), undefined],
    ['a port out of range', JSON.stringify({ ...rec, internalPort: 70000 }), undefined],
    ['a gateway that is not an IPv4 address', JSON.stringify({ ...rec, gateway: 'router.local' }), undefined],
    ['a nonce that is not 12 hex bytes', JSON.stringify({ ...rec, extra: { ...rec.extra, nonce: 'zz' } }), undefined],
  ])('parse: %s', (_why, text, want) => {
    expect(parsePortMapRecord(text)).toEqual(want);
  });

  it('saves atomically, loads, removes; does not follow a planted symlink', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshd-pm-'));
    try {
      const s = filePortMapStore(dir, testLogger('t'));
      expect(s.load()).toBeUndefined();
      s.save(rec);
      expect(JSON.parse(readFileSync(portMapPath(dir), 'utf8'))).toEqual(rec);
      expect(s.load()).toEqual(rec);
      s.save(undefined);
      expect(existsSync(portMapPath(dir))).toBe(false);
      s.save(undefined); // nothing there: no throw
      writeFileSync(join(dir, 'elsewhere'), JSON.stringify(rec));
      symlinkSync(join(dir, 'elsewhere'), portMapPath(dir));
      expect(s.load()).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('localAddressToward', () => {
  const ifaces = {
    lo: [{ family: 'IPv4', address: '127.0.0.1', netmask: '255.0.0.0', internal: true }],
    wan0: [{ family: 'IPv4', address: '203.0.113.5', netmask: '255.255.255.0', internal: false }],
    lan0: [{ family: 'IPv6', address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', internal: false }, { family: 'IPv4', address: '192.168.1.2', netmask: '255.255.255.0', internal: false }],
  };
  it.each([
    ['the interface whose subnet holds the gateway', '192.168.1.1', '192.168.1.2'],
    ['another interface\'s subnet', '203.0.113.1', '203.0.113.5'],
    ['no interface holds it', '10.0.0.1', undefined],
  ])('%s', (_why, gw, want) => {
    expect(localAddressToward(gw, ifaces)).toBe(want);
  });
});
