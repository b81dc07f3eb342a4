// Publish spec and port-range parsing, and the hub's admission decision, as tables.
import { describe, expect, it } from 'vitest';
import { decidePublish, formatPortRanges, parsePortRanges, parsePublishSpec, parsePublishSpecs, portAllowed, type PublishVerdict } from '../../src/publish/spec.js';
import { ConfigError } from '../../src/util/errors.js';

describe('parsePublishSpec', () => {
  it.each([
    ['the issue example', 'web=tcp:8080:127.0.0.1:80', { name: 'web', publicPort: 8080, targetHost: '127.0.0.1', targetPort: 80 }],
    ['a host name target', 'db_1=tcp:8001:localhost:5432', { name: 'db_1', publicPort: 8001, targetHost: 'localhost', targetPort: 5432 }],
    ['surrounding spaces', ' a.b-c=tcp:1:10.0.0.1:65535 ', { name: 'a.b-c', publicPort: 1, targetHost: '10.0.0.1', targetPort: 65535 }],
  ])('accepts %s', (_why, text, want) => {
    expect(parsePublishSpec(text)).toEqual(want);
  });

  it.each([
    ['no name', '=tcp:8080:127.0.0.1:80', /service name/],
    ['a name with a space', 'my web=tcp:8080:127.0.0.1:80', /service name/],
    ['a 33-char name', `${'x'.repeat(33)}=tcp:8080:127.0.0.1:80`, /service name/],
    ['udp (unsupported)', 'dns=udp:8053:127.0.0.1:53', /only tcp/],
    ['a missing target port', 'web=tcp:8080:127.0.0.1', /not name=tcp/],
    ['port 0', 'web=tcp:0:127.0.0.1:80', /outside 1-65535/],
    ['port 65536', 'web=tcp:8080:127.0.0.1:65536', /outside 1-65535/],
    ['a non-numeric port', 'web=tcp:http:127.0.0.1:80', /not a port/],
    ['no equals sign', 'web:tcp:8080:127.0.0.1:80', /not name=tcp/],
    ['a bad host', 'web=tcp:8080:local_host!:80', /target host/],
  ])('refuses %s', (_why, text, re) => {
    expect(() => parsePublishSpec(text)).toThrow(ConfigError);
    expect(() => parsePublishSpec(text)).toThrow(re);
  });

  it.each([
    ['a duplicate name', ['a=tcp:8000:h:1', 'a=tcp:8001:h:1'], /given twice/],
    ['a duplicate public port', ['a=tcp:8000:h:1', 'b=tcp:8000:h:2'], /given twice/],
  ])('refuses a list with %s', (_why, list, re) => {
    expect(() => parsePublishSpecs(list)).toThrow(re);
  });
});

describe('parsePortRanges', () => {
  it.each([
    ['a range', '8000-8999', [{ lo: 8000, hi: 8999 }], '8000-8999'],
    ['one port', '8080', [{ lo: 8080, hi: 8080 }], '8080'],
    ['a list', '8000-8099, 9000', [{ lo: 8000, hi: 8099 }, { lo: 9000, hi: 9000 }], '8000-8099,9000'],
  ])('accepts %s', (_why, text, want, formatted) => {
    expect(parsePortRanges(text)).toEqual(want);
    expect(formatPortRanges(parsePortRanges(text))).toBe(formatted);
  });

  it.each([
    ['backwards', '9000-8000', /backwards/],
    ['empty part', '8000,', /empty/],
    ['words', 'all', /PORT or LOW-HIGH/],
    ['port 0', '0-10', /outside/],
  ])('refuses %s', (_why, text, re) => {
    expect(() => parsePortRanges(text)).toThrow(re);
  });

  it.each([
    [7999, false], [8000, true], [8999, true], [9000, false],
  ])('port %i allowed by 8000-8999: %s', (p, ok) => {
    expect(portAllowed(p, parsePortRanges('8000-8999'))).toBe(ok);
  });
});

describe('decidePublish', () => {
  const ranges = parsePortRanges('8000-8999');
  const published = [{ name: 'web', port: 8080, owner: 'A' }];
  it.each<[string, string, string, number, PublishVerdict]>([
    ['a free name on a free allowed port', 'B', 'api', 8081, 'ok'],
    ['the owner re-publishing the same (restart, re-register)', 'A', 'web', 8080, 'same'],
    ['a port outside the allowed ranges', 'B', 'ssh', 22, 'port-not-allowed'],
    ['a name another member holds', 'B', 'web', 8082, 'name-taken'],
    ['a port another service holds', 'B', 'api', 8080, 'port-in-use'],
    ['the owner moving its service to another port', 'A', 'web', 8090, 'ok'],
    ['the owner publishing a second name on its port', 'A', 'web2', 8080, 'port-in-use'],
    ['a malformed name', 'B', 'a b', 8081, 'bad-name'],
  ])('%s', (_why, owner, name, port, want) => {
    expect(decidePublish(owner, name, port, ranges, published)).toBe(want);
  });
  it.each<[string, string, string, number, PublishVerdict]>([
    ['a third name past a cap of 2', 'A', 'c', 8003, 'too-many'],
    ['moving one of its two services is not a new one', 'A', 'a', 8005, 'ok'],
    ['re-publishing the same one', 'A', 'b', 8002, 'same'],
    ['another member is not counted against A', 'B', 'c', 8003, 'ok'],
  ])('per-member cap: %s', (_why, owner, name, port, want) => {
    const two = [{ name: 'a', port: 8001, owner: 'A' }, { name: 'b', port: 8002, owner: 'A' }];
    expect(decidePublish(owner, name, port, ranges, two, 2)).toBe(want);
  });
  it('refuses every port on a hub without --allow-publish', () => {
    expect(decidePublish('B', 'api', 8081, [], published)).toBe('port-not-allowed');
  });
});
