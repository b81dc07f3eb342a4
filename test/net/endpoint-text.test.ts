// Endpoint text (src/net/udp.ts): "ip:port" and "[ipv6]:port" parsed to canonical addresses and shown back.
import { describe, expect, it } from 'vitest';
import { endpointFamily, endpointKey, parseEndpoint } from '../../src/net/udp.js';

describe('parseEndpoint / endpointKey', () => {
  it.each<[string, { address: string; port: number } | undefined]>([
    ['192.0.2.1:7000', { address: '192.0.2.1', port: 7000 }],
    ['[2001:db8::1]:7000', { address: '2001:db8::1', port: 7000 }],
    ['[2001:DB8:0:0:0:0:0:1]:7000', { address: '2001:db8::1', port: 7000 }],
    ['[::]:7000', { address: '::', port: 7000 }],
    ['[::ffff:192.0.2.1]:7000', { address: '192.0.2.1', port: 7000 }],
    ['2001:db8::1:7000', undefined],
    ['[2001:db8::1]', undefined],
    ['[2001:db8::1]:0', undefined],
    ['[2001:db8::1]:70000', undefined],
    ['[fe80::1%eth0]:7000', undefined],
    ['[2001:db8::g]:7000', undefined],
  ])('%s', (text, want) => {
    const got = parseEndpoint(text);
    expect(got === undefined ? undefined : { address: got.address, port: got.port }).toEqual(want);
  });

  it.each([
    [{ address: '192.0.2.1', port: 7000 }, '192.0.2.1:7000', 4],
    [{ address: '2001:db8::1', port: 7000 }, '[2001:db8::1]:7000', 6],
  ])('shows %o as %s (family %d)', (e, text, family) => {
    expect(endpointKey(e)).toBe(text);
    expect(endpointFamily(e)).toBe(family);
    expect(parseEndpoint(text)).toMatchObject(e);
  });
});
