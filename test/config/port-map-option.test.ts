// --port-map on|off (peer): on by default; anything else is refused naming the flag.
import { describe, expect, it } from 'vitest';
import { parsePeerConfig, type ParseContext } from '../../src/config/parse.js';
import { ConfigError } from '../../src/util/errors.js';

const ctx: ParseContext = { env: {}, hostname: 'box-1', readText: () => 'correct horse battery staple and more\n' };
const peerBase = { hub: '203.0.113.2:7000', local: '10.9.0.2/24', secretFile: '/etc/meshd/secret' };

describe('--port-map', () => {
  it.each([
    ['on by default', {}, true],
    ['off', { portMap: 'off' }, false],
    ['on', { portMap: 'on' }, true],
  ])('%s', (_why, patch, want) => {
    expect(parsePeerConfig({ ...peerBase, ...patch }, ctx).portMap).toBe(want);
  });

  it('refuses another value, naming the flag', () => {
    let err: unknown;
    try {
      parsePeerConfig({ ...peerBase, portMap: 'yes' }, ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toBe('--port-map');
  });
});
