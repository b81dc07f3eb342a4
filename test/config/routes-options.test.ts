// The issue 23 options: --allow-routes (hub), --advertise-routes, --exit-node, --dns-domain (peer).
import { describe, expect, it } from 'vitest';
import { parseHubConfig, parsePeerConfig, type ParseContext } from '../../src/config/parse.js';
import { ConfigError } from '../../src/util/errors.js';
import { ipv4ToU32 } from '../../src/util/ipv4.js';

const ctx: ParseContext = { env: { MESHD_SECRET: 'correct horse battery staple' }, hostname: 'box', readText: () => '' };
const peer = { hub: 'vps.example.net:7000' };

function option(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).option;
  }
  throw new Error('expected a ConfigError');
}

describe('route options', () => {
  it('defaults: nothing offered, nothing accepted, DNS on for mesh', () => {
    const c = parsePeerConfig(peer, ctx);
    expect(c).toMatchObject({ advertiseRoutes: [], advertiseExitNode: false, acceptRoutes: false, exitNodeAllowLan: false, dnsDomain: 'mesh' });
    expect(c.exitNode).toBeUndefined();
    expect(parseHubConfig({}, ctx).allowRoutes).toEqual([]);
  });

  it('parses a flag list and a config-file array alike', () => {
    const c = parsePeerConfig({ ...peer, advertiseRoutes: '192.168.50.0/24, 10.1.0.0/16', acceptRoutes: true, exitNode: 'home', dnsDomain: 'Mesh.Example.' }, ctx);
    expect(c.advertiseRoutes).toEqual([{ network: ipv4ToU32('192.168.50.0'), length: 24 }, { network: ipv4ToU32('10.1.0.0'), length: 16 }]);
    expect(c).toMatchObject({ acceptRoutes: true, exitNode: 'home', dnsDomain: 'mesh.example' });
    expect(parsePeerConfig({ ...peer, advertiseRoutes: ['192.168.50.0/24'] }, ctx).advertiseRoutes.length).toBe(1);
    expect(parsePeerConfig({ ...peer, dnsDomain: 'off' }, ctx).dnsDomain).toBe('');
  });

  it('hub rules by name or base64 key; "exit" is 0.0.0.0/0', () => {
    const key = 'A'.repeat(43) + '=';
    expect(parseHubConfig({ allowRoutes: `home:192.168.1.0/24,home:exit,${key}:10.1.0.0/16` }, ctx).allowRoutes).toEqual([
      { who: 'home', network: ipv4ToU32('192.168.1.0'), length: 24 },
      { who: 'home', network: 0, length: 0 },
      { who: key, network: ipv4ToU32('10.1.0.0'), length: 16 },
    ]);
  });

  it.each([
    ['host bits set', () => parsePeerConfig({ ...peer, advertiseRoutes: '192.168.50.1/24' }, ctx), '--advertise-routes'],
    ['0.0.0.0/0 is --advertise-exit-node', () => parsePeerConfig({ ...peer, advertiseRoutes: '0.0.0.0/0' }, ctx), '--advertise-routes'],
    ['not a prefix', () => parsePeerConfig({ ...peer, advertiseRoutes: 'lan' }, ctx), '--advertise-routes'],
    ['a bad domain', () => parsePeerConfig({ ...peer, dnsDomain: 'a..b' }, ctx), '--dns-domain'],
    ['a rule without who', () => parseHubConfig({ allowRoutes: '192.168.1.0/24' }, ctx), '--allow-routes'],
    ['a boolean that is not', () => parsePeerConfig({ ...peer, acceptRoutes: 'yes' }, ctx), '--accept-routes'],
  ])('refuses %s', (_why, fn, flag) => {
    expect(option(fn)).toBe(flag);
  });
});
