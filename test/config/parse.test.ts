// The pure option parser: defaults, and every bad value refused with a ConfigError naming the option.
import { describe, expect, it } from 'vitest';
import { parseHubConfig, parsePeerConfig, type ParseContext } from '../../src/config/parse.js';
import { ConfigError } from '../../src/util/errors.js';

const secret = 'correct horse battery staple';
const ctx: ParseContext = {
  env: {},
  hostname: 'box-1',
  readText: (p) => {
    if (p === '/etc/meshd/secret') return `${secret}\n`;
    if (p === '/short') return 'short';
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  },
};
const peerBase = { hub: 'vps.example.net:7000', local: '10.9.0.2/24', secretFile: '/etc/meshd/secret' };

function refusal(fn: () => unknown): { option: string; message: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return { option: (e as ConfigError).option, message: (e as Error).message };
  }
  throw new Error('expected a ConfigError');
}

describe('parsePeerConfig', () => {
  it('fills the documented defaults', () => {
    const c = parsePeerConfig(peerBase, ctx);
    expect(c).toMatchObject({
      hub: { host: 'vps.example.net', port: 7000 },
      local: { address: '10.9.0.2', prefixLength: 24 },
      name: 'box-1',
      nameIsHint: true,
      tun: 'meshd0',
      mtu: 1378,
      transport: 'kcp',
      kcpMode: 'fast2',
      listen: { address: '0.0.0.0', port: 0 },
      secret,
      keyFile: '/var/lib/meshd/peer.key',
      logLevel: 'info',
    });
  });

  it('without --local the hub assigns the address; --name given is not a hint', () => {
    const c = parsePeerConfig({ ...peerBase, local: undefined, name: 'web' }, ctx);
    expect(c.local).toBeUndefined();
    expect([c.name, c.nameIsHint]).toEqual(['web', false]);
  });

  it('takes the secret from MESHD_SECRET when no file is given', () => {
    const c = parsePeerConfig({ hub: 'a:1', local: '10.9.0.2/24' }, { ...ctx, env: { MESHD_SECRET: secret } });
    expect(c.secret).toBe(secret);
  });

  it.each([
    ['no hub', { hub: undefined }, '--hub'],
    ['hub without port', { hub: 'vps' }, '--hub'],
    ['hub port out of range', { hub: 'vps:70000' }, '--hub'],
    ['overlay without prefix', { local: '10.9.0.2' }, '--local'],
    ['overlay is the network address', { local: '10.9.0.0/24' }, '--local'],
    ['overlay is the broadcast address', { local: '10.9.0.255/24' }, '--local'],
    ['overlay not an address', { local: '10.9.0.300/24' }, '--local'],
    ['no secret at all', { secretFile: undefined }, '--secret-file'],
    ['unreadable secret file', { secretFile: '/missing' }, '--secret-file'],
    ['secret too short', { secretFile: '/short' }, '--secret-file'],
    ['mtu too small', { mtu: 100 }, '--mtu'],
    ['mtu not a number', { mtu: 'big' }, '--mtu'],
    ['unknown kcp mode', { kcpMode: 'turbo' }, '--kcp-mode'],
    ['unknown transport', { transport: 'tcp' }, '--transport'],
    ['bad name', { name: 'has space' }, '--name'],
    ['tun name too long', { tun: 'a-very-long-tun-name' }, '--tun'],
    ['tun name that reads as a flag', { tun: '--help' }, '--tun'],
    ['bad listen', { listen: 'localhost' }, '--listen'],
    ['bad log level', { logLevel: 'loud' }, '--log-level'],
    ['metrics without a port', { metrics: '127.0.0.1' }, '--metrics'],
    ['hub-only option', { network: '10.9.0.0/24' }, 'network'],
    ['unknown key', { colour: 'blue' }, 'colour'],
    ['malformed hub key', { hubKey: 'abc' }, '--hub-key'],
  ])('refuses %s', (_why, patch, option) => {
    const raw: Record<string, unknown> = { ...peerBase, ...patch };
    for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
    expect(refusal(() => parsePeerConfig(raw, ctx)).option).toBe(option);
  });
});

describe('parseHubConfig', () => {
  it('fills the documented defaults', () => {
    const c = parseHubConfig({ secretFile: '/etc/meshd/secret' }, ctx);
    expect(c).toMatchObject({ listen: { address: '0.0.0.0', port: 7000 }, network: { address: '10.9.0.0', prefixLength: 24 }, keyFile: '/var/lib/meshd/hub.key' });
  });

  it.each([
    ['network with host bits', { network: '10.9.0.1/24' }, '--network'],
    ['network prefix too long', { network: '10.9.0.0/31' }, '--network'],
    ['peer-only option', { local: '10.9.0.2/24' }, 'local'],
    ['listen port out of range', { listen: '0.0.0.0:99999' }, '--listen'],
    ['relay rate not a number', { relayRate: 'fast' }, '--relay-rate'],
  ])('refuses %s', (_why, patch, option) => {
    expect(refusal(() => parseHubConfig({ secretFile: '/etc/meshd/secret', ...patch }, ctx)).option).toBe(option);
  });
});
