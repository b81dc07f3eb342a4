// --hub repeatable (issue 24, several hubs): flag occurrences or a config-file list, each
// host:port or [IPv6]:port with an optional @KEY; one --hub parses as it always did.
import { describe, expect, it } from 'vitest';
import { parsePeerConfig, type ParseContext } from '../../src/config/parse.js';
import { ConfigError } from '../../src/util/errors.js';

const ctx: ParseContext = { env: { MESHD_SECRET: 'correct horse battery staple' }, hostname: 'box-1', readText: () => { throw Object.assign(new Error('nope'), { code: 'ENOENT' }); } };
const KEY = 'q0lI8lNUXzbeq7JyNBsE5r4k1ZIq5qXRVkmCr2mxS2c=';

describe('--hub, several hubs', () => {
  it.each([
    ['one hub as a string: as before', 'a.example:7000', [{ host: 'a.example', port: 7000 }]],
    ['one hub given once as a flag (a list of one)', ['a.example:7000'], [{ host: 'a.example', port: 7000 }]],
    ['two hubs in the order given', ['203.0.113.1:7000', '198.51.100.7:7001'], [{ host: '203.0.113.1', port: 7000 }, { host: '198.51.100.7', port: 7001 }]],
    ['a key after @', [`203.0.113.1:7000@${KEY}`, '[2001:db8::1]:7000'], [{ host: '203.0.113.1', port: 7000, key: KEY }, { host: '2001:db8::1', port: 7000 }]],
  ])('%s', (_why, hub, want) => {
    const c = parsePeerConfig({ hub, local: '10.9.0.2/24' }, ctx);
    expect(c.hubs).toEqual(want);
    expect(c.hub).toEqual({ host: want[0]!.host, port: want[0]!.port });
  });

  it('the first hub\'s @KEY is --hub-key (one hub pins its key this way too)', () => {
    expect(parsePeerConfig({ hub: [`a:7000@${KEY}`], local: '10.9.0.2/24' }, ctx).hubKey).toBe(KEY);
    expect(parsePeerConfig({ hub: [`a:7000@${KEY}`], hubKey: KEY, local: '10.9.0.2/24' }, ctx).hubKey).toBe(KEY);
    expect(() => parsePeerConfig({ hub: [`a:7000@${KEY}`], hubKey: 'r'.repeat(43) + '=', local: '10.9.0.2/24' }, ctx)).toThrow(ConfigError);
  });

  it.each([
    ['a hub given twice', ['a:7000', 'a:7000']],
    ['a key that is not base64 of 32 bytes', ['a:7000@abc']],
    ['an empty entry in the list', ['a:7000', '']],
    ['no port', ['a:7000', 'b']],
    ['a list holding a number', ['a:7000', 7000]],
  ])('refuses %s', (_why, hub) => {
    expect(() => parsePeerConfig({ hub, local: '10.9.0.2/24' }, ctx)).toThrow(ConfigError);
  });
});
