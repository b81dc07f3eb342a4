// The issue 22 overlay options: --network6 (hub) and --local6 (peer), and what REGISTER asks for.
import { describe, expect, it } from 'vitest';
import { parseHubConfig, parsePeerConfig, type ParseContext } from '../../src/config/parse.js';
import { overlay6Request } from '../../src/peer/overlay6.js';
import { ConfigError } from '../../src/util/errors.js';

const ctx: ParseContext = { env: { MESHD_SECRET: 'correct horse battery staple' }, hostname: 'box', readText: () => '' };
const other: ParseContext = { ...ctx, env: { MESHD_SECRET: 'another network entirely, not ours' } };
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

describe('--network6', () => {
  it('defaults to a ULA /64 from the secret: stable, and another for another network', () => {
    const one = parseHubConfig({}, ctx).network6!;
    expect(one.prefixLength).toBe(64);
    expect(one.address).toMatch(/^fd/);
    expect(parseHubConfig({}, ctx).network6).toEqual(one);
    expect(parseHubConfig({}, other).network6).not.toEqual(one);
  });

  it.each([
    ['a /64 network, canonicalised', 'FD00:9:0:1:0::/64', { address: 'fd00:9:0:1::', prefixLength: 64 }],
    ['off', 'off', undefined],
  ])('%s', (_why, text, want) => {
    expect(parseHubConfig({ network6: text }, ctx).network6).toEqual(want);
  });

  it.each(['fd00:9:0:1::5/64', 'fd00:9::/48', '10.9.0.0/24', 'fd00::zz/64', 'ff02::/64', 'fe80::/64'])('refuses %s', (text) => {
    expect(option(() => parseHubConfig({ network6: text }, ctx))).toBe('--network6');
  });
});

describe('--local6', () => {
  it.each([
    ['an address in a /64', 'fd00:9:0:1:1::b/64', { address: 'fd00:9:0:1:1::b', prefixLength: 64 }],
    ['off', 'off', 'off'],
  ])('%s', (_why, text, want) => {
    expect(parsePeerConfig({ ...peer, local6: text }, ctx).local6).toEqual(want);
  });

  it.each(['fd00:9:0:1::/64', 'fd00:9:0:1::1', 'fd00:9:0:1::1/128', '10.9.0.2/24'])('refuses %s', (text) => {
    expect(option(() => parsePeerConfig({ ...peer, local6: text }, ctx))).toBe('--local6');
  });

  it('refuses an explicit --local6 with an MTU below 1280', () => {
    expect(option(() => parsePeerConfig({ ...peer, local6: 'fd00:9:0:1::1/64', mtu: 1200 }, ctx))).toBe('--local6');
  });
});

describe('what REGISTER asks for (flag 0x10)', () => {
  it.each([
    ['no --local6: the hub assigns ("::")', undefined, 1378, { overlay6: '::', prefix6: 0 }],
    ['--local6 ADDR/64', { address: 'fd00:9:0:1::1', prefixLength: 64 }, 1378, { overlay6: 'fd00:9:0:1::1', prefix6: 64 }],
    ['--local6 off', 'off', 1378, {}],
    ['an MTU below 1280: IPv4 only', undefined, 1200, {}],
  ] as const)('%s', (_why, local6, mtu, want) => {
    expect(overlay6Request(local6, mtu)).toEqual(want);
  });
});
