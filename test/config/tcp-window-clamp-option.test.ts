// --tcp-window-clamp MB|off (peer): 18 MB by default; a whole number of MB from 1 to 1000, or off;
// anything else is refused naming the flag.
import { describe, expect, it } from 'vitest';
import { parsePeerConfig, type ParseContext } from '../../src/config/parse.js';
import { ConfigError } from '../../src/util/errors.js';

const ctx: ParseContext = { env: {}, hostname: 'box-1', readText: () => 'correct horse battery staple and more\n' };
const peerBase = { hub: '203.0.113.2:7000', local: '10.9.0.2/24', secretFile: '/etc/meshd/secret' };

describe('--tcp-window-clamp', () => {
  it.each([
    ['18 MB by default', {}, 18_000_000],
    ['off', { tcpWindowClamp: 'off' }, 0],
    ['a size in MB', { tcpWindowClamp: '32' }, 32_000_000],
    ['from a config file, a number', { tcpWindowClamp: 8 }, 8_000_000],
  ])('%s', (_why, patch, want) => {
    expect(parsePeerConfig({ ...peerBase, ...patch }, ctx).tcpWindowClampBytes).toBe(want);
  });

  it.each(['0', '1001', '1.5', 'on', '18M'])('refuses %s, naming the flag', (v) => {
    let err: unknown;
    try {
      parsePeerConfig({ ...peerBase, tcpWindowClamp: v }, ctx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toBe('--tcp-window-clamp');
  });
});
